/* The one header shared by the XDP program (balancer.bpf.c) and the C++ control plane
 * (src/xdp/ loader and tests): map keys, values, counters and settings, in plain C types with
 * explicit padding, so that both sides see the same bytes. Addresses are 16 bytes in
 * network order; an IPv4 address is stored IPv4-mapped (::ffff:a.b.c.d), as the flow
 * hash of sched/flow_hash.h takes it.
 *
 * Maps (sizes are set by the loader before load, from the configuration):
 *   fulcrum_vips      HASH      vip_key -> vip_meta            the services' VIPs
 *   fulcrum_reals     ARRAY     real index -> real_def         control::RealIndex's indices
 *   fulcrum_rings     ARRAY     (vip ring * 2 + half) * ring_size + slot -> real index
 *   fulcrum_conns     LRU_HASH  flow_key -> flow_value          per-flow real, all CPUs
 *   fulcrum_nat       LRU_HASH  reply flow_key -> nat_back       NAT replies back to the VIP
 *   fulcrum_stats     PERCPU_ARRAY  0 -> global_stats
 *   fulcrum_vip_stats PERCPU_ARRAY  vip ring -> vip_stats
 *   fulcrum_real_stats PERCPU_ARRAY real index -> real_stats  what each real was sent
 *   fulcrum_rr        PERCPU_ARRAY  vip ring -> __u32          round-robin position
 *   fulcrum_settings  ARRAY     0 -> settings                   what may change at run time
 *   fulcrum_tx_ports  DEVMAP    0 -> egress ifindex               when it is not the ingress one
 */
#ifndef FULCRUM_XDP_ABI_H
#define FULCRUM_XDP_ABI_H

#include <linux/types.h>

/* vip_meta.flags */
#define FULCRUM_VIP_ALL_PORTS 0x1 /* port 0: every port of the address */
/* How a new flow picks its slot of the VIP's ring (a Maglev table in every case):
 * neither flag: the flow hash (balance maglev); SCHED_SOURCE: the client address's hash
 * (balance source, as the proxy's consistent source hash); SCHED_RR: the next slot of a
 * per-CPU walk (roundrobin, static-rr). A TCP packet that is not a SYN and finds no
 * entry always takes the flow hash, so every node of a fleet picks the same real. */
#define FULCRUM_VIP_SCHED_SOURCE 0x2
#define FULCRUM_VIP_SCHED_RR 0x4

/* real_def.forward: how packets reach the real; 0: no usable real at this index (removed,
 * DOWN or MAINT): a flow the connection table gives it is scheduled anew. A DRAIN real
 * (or one of weight 0) keeps its forward mode and is only left out of the rings, so its
 * existing flows stay (IPVS quiescence). */
#define FULCRUM_FWD_IPIP 1 /* IPIP / IP6IP6 (and 4-in-6, 6-in-4 across families) DSR */
#define FULCRUM_FWD_GUE 2  /* GUE variant 1: outer IP + UDP (flow-hashed source port) + inner IP */
#define FULCRUM_FWD_DR 3   /* L2 direct routing (ipvsadm -g): the frame to the real's MAC */
#define FULCRUM_FWD_NAT                                           \
  4 /* DNAT (ipvsadm -m): the real's address and port; the return \
     * traffic, routed through the balancer, rewritten back */

/* real_def.flags */
#define FULCRUM_REAL_V6 0x1 /* the real's address is IPv6 */

/* An address as the maps key it: 16 bytes, IPv4-mapped for IPv4. */
struct fulcrum_addr {
  __u8 b[16];
};

struct fulcrum_vip_key {
  __u8 addr[16];
  __u16 port; /* network order; 0 for an all-ports VIP */
  __u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
  __u8 pad;
};

struct fulcrum_vip_meta {
  __u32 ring;  /* the VIP's ring (and counters) index */
  __u32 flags; /* FULCRUM_VIP_* */
  __u32 half;  /* which half of the ring's double buffer is in force: 0 or 1 */
  __u32 pad;
};

struct fulcrum_real_def {
  __u8 addr[16];
  __u8 forward; /* FULCRUM_FWD_* */
  __u8 flags;   /* FULCRUM_REAL_* */
  __u16 port;   /* NAT: the real's port, network order (0: the VIP's) */
  __u8 mac[6];  /* the real's MAC when it is on the link (the control plane resolves it
                 * from the neighbour table): DR and NAT frames go there, and so do
                 * encapsulated ones; zero: settings.next_hop_mac */
  __u8 pad[6];
};

struct fulcrum_flow_key {
  __u8 src[16];
  __u8 dst[16];
  __u16 sport; /* network order */
  __u16 dport;
  __u8 proto;
  __u8 pad[3];
};

struct fulcrum_flow_value {
  __u32 real;
  __u32 hash;    /* the flow hash, kept so that a hit does not compute it again */
  __u64 seen_ns; /* UDP: bpf_ktime_get_ns() of the last packet; TCP: 0 (never expires) */
};

/* Global counters: the packet path's outcomes and drops by reason. */
struct fulcrum_global_stats {
  __u64 packets;        /* packets seen */
  __u64 passed_no_vip;  /* not for a VIP: XDP_PASS, untouched */
  __u64 passed_other;   /* not IPv4/IPv6, or not TCP/UDP: XDP_PASS */
  __u64 passed_frag;    /* IPv4 fragments, IPv6 fragment headers: XDP_PASS */
  __u64 passed_options; /* IPv4 with options, IPv6 extension headers: XDP_PASS */
  __u64 malformed;      /* truncated or inconsistent headers: XDP_DROP */
  __u64 lru_hits;       /* flow found in the connection table */
  __u64 lru_misses;     /* flow scheduled by the VIP's ring */
  __u64 no_real;        /* the ring has no real for the flow: XDP_DROP */
  __u64 encap_failed;   /* no room to encapsulate: XDP_DROP */
  __u64 forwarded;      /* sent to a real (XDP_TX) */
  __u64 nat_returned;   /* a NAT real's reply rewritten back to the VIP (XDP_TX) */
  __u64 nat_family;     /* NAT to a real of the other IP family: not possible, dropped */
  __u64 flood_skipped;  /* new flows forwarded but not stored: the flood guard's rate hit */
  __u64 icmp_forwarded; /* ICMP too-big errors about a VIP flow, sent to its real */
};

/* The flood guard's window, per CPU. */
struct fulcrum_flood_window {
  __u64 start_ns;
  __u64 inserted;
};

/* NAT return path: the reply's addresses (real -> client) -> the VIP it answers for. */
struct fulcrum_nat_back {
  __u8 vip[16];
  __u16 vip_port;   /* network order */
  __u8 peer_mac[6]; /* the source MAC of the client's packets (the client, or the router
                     * it came through): where the rewritten replies go */
};

struct fulcrum_vip_stats {
  __u64 packets;
  __u64 bytes;
  __u64 new_flows;
};

/* Per real index: packets and bytes forwarded to it (as they arrived), and the flows
 * stored in the connection table for it. Zeroed by the loader when an index is given to
 * another server. */
struct fulcrum_real_stats {
  __u64 packets;
  __u64 bytes;
  __u64 new_flows;
};

/* decap.bpf.c, on the reals: what it did. */
struct fulcrum_decap_stats {
  __u64 decapsulated; /* tunnel packets to this host, stripped and passed to the stack */
  __u64 passed;       /* everything else, untouched */
  __u64 malformed;    /* a tunnel packet whose inner header is missing or wrong: dropped */
};

/* What may change at run time without a reload of the program. */
struct fulcrum_settings {
  __u8 src_mac[6];        /* the load balancer's MAC on the egress interface */
  __u8 next_hop_mac[6];   /* where encapsulated packets go (the gateway or the real) */
  __u32 outer_v4_base;    /* IPIP outer sources: base + (flow hash % outer_v4_count), */
  __u32 outer_v4_count;   /*   network-order base, count >= 1 */
  __u8 outer_v6_base[16]; /* IP6IP6 outer sources: the low 32 bits take the flow hash */
  __u64 udp_timeout_ns;   /* a UDP flow entry older than this is scheduled anew */
  __u16 gue_port;         /* GUE: the reals' UDP port, network order */
  __u16 pad[3];
  __u32 redirect; /* 1: send through fulcrum_tx_ports (XDP_REDIRECT to a second
                   * interface); 0: back out of the ingress one (XDP_TX) */
  __u32 pad2;
  __u64 new_flow_rate; /* flood guard: flows stored per CPU per second; 0: no limit.
                        * Beyond it new flows are still forwarded by the ring (every
                        * node picks the same real) but not stored, so a flood does
                        * not thrash the connection table. */
};

#endif /* FULCRUM_XDP_ABI_H */
