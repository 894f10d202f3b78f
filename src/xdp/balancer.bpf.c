// The packet data plane: one XDP program. It parses the frame (Ethernet, one VLAN tag,
// IPv4 or IPv6, TCP or UDP), looks up the VIP (exact port, then the VIP's all-ports
// entry), finds the flow's real in the connection table or schedules it with the VIP's
// Maglev ring (the control plane's table, translated to real indices), and forwards it by
// encapsulation (IPIP, IP6IP6, or across families; GUE adds a UDP header) or by L2
// direct routing (the real's MAC), with XDP_TX. A packet for
// no VIP, or one it does not handle (fragments, IPv4 options, IPv6 extension headers), leaves
// untouched (XDP_PASS); each outcome is counted (xdp_abi.h).
//
// Flow hash: exactly sched::flowHash (src/sched/flow_hash.h): MurmurHash3 x86_32 over the
// 10 words of the 5-tuple, so the proxy and this program pick the same real for a flow.
// The kernel's headers first: libbpf's need their types.
// clang-format off
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
// clang-format on

#include "xdp_abi.h"

// Fixed for the program's life, set by the loader before load.
const volatile __u32 ring_size = 65537;  // a prime: the Maglev table size

#define NO_REAL 0xffffffffu

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct fulcrum_vip_key);
  __type(value, struct fulcrum_vip_meta);
  __uint(max_entries, 64);
} fulcrum_vips SEC(".maps");  // the VIPs of packet services

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct fulcrum_real_def);
  __uint(max_entries, 256);
} fulcrum_reals SEC(".maps");  // reals by process-wide real index

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u32);
  __uint(max_entries, 2 * 13 * 4);
} fulcrum_rings SEC(".maps");  // each VIP's Maglev ring, double-buffered, holding real indices

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, struct fulcrum_flow_key);
  __type(value, struct fulcrum_flow_value);
  __uint(max_entries, 4096);
  __uint(map_flags, BPF_F_NO_COMMON_LRU);
} fulcrum_conns SEC(".maps");  // flow -> real, seen by every CPU (return paths, veth)

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, struct fulcrum_flow_key);
  __type(value, struct fulcrum_nat_back);
  __uint(max_entries, 4096);
  __uint(map_flags, BPF_F_NO_COMMON_LRU);
} fulcrum_nat SEC(".maps");  // NAT: a reply's flow (real -> client) -> the VIP it is from

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __type(key, __u32);
  __type(value, __u32);
  __uint(max_entries, 1);
} fulcrum_tx_ports SEC(".maps");  // the egress interface when it is not the ingress one

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, struct fulcrum_flood_window);
  __uint(max_entries, 1);
} fulcrum_flood SEC(".maps");  // the flood guard's one-second window, per CPU

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, struct fulcrum_global_stats);
  __uint(max_entries, 1);
} fulcrum_stats SEC(".maps");  // outcomes and drops by reason, summed over CPUs

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, struct fulcrum_vip_stats);
  __uint(max_entries, 64);
} fulcrum_vip_stats SEC(".maps");  // per-VIP packets, bytes and new flows

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, struct fulcrum_real_stats);
  __uint(max_entries, 64);
} fulcrum_real_stats SEC(".maps");  // per-real packets, bytes and new flows

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u32);
  __uint(max_entries, 64);
} fulcrum_rr SEC(".maps");  // round-robin VIPs: each CPU's position in the ring

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct fulcrum_settings);
  __uint(max_entries, 1);
} fulcrum_settings SEC(".maps");  // what may change at run time

struct vlan_hdr {
  __be16 tci;
  __be16 proto;
};

// ---- flow hash (sched/flow_hash.h) ----

static __always_inline __u32 rotl32(__u32 x, int r) { return (x << r) | (x >> (32 - r)); }

static __always_inline __u32 murmur_round(__u32 h, __u32 k) {
  k *= 0xcc9e2d51u;
  k = rotl32(k, 15);
  k *= 0x1b873593u;
  h ^= k;
  h = rotl32(h, 13);
  return h * 5u + 0xe6546b64u;
}

// MurmurHash3's finalisation after n words.
static __always_inline __u32 murmur_final(__u32 h, __u32 words) {
  h ^= words * 4;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

static __always_inline __u32 addr_word(const __u8* a, int i) {
  return ((__u32)a[4 * i] << 24) | ((__u32)a[4 * i + 1] << 16) | ((__u32)a[4 * i + 2] << 8) |
         (__u32)a[4 * i + 3];
}

static __always_inline __u32 flow_hash(const struct fulcrum_flow_key* k) {
  __u32 h = 0x466c6f77u;  // kFlowHashSeed, "Flow"
#pragma unroll
  for (int i = 0; i < 4; i++) h = murmur_round(h, addr_word(k->src, i));
#pragma unroll
  for (int i = 0; i < 4; i++) h = murmur_round(h, addr_word(k->dst, i));
  h = murmur_round(h, ((__u32)bpf_ntohs(k->sport) << 16) | bpf_ntohs(k->dport));
  h = murmur_round(h, k->proto);
  return murmur_final(h, 10);
}

// The client address's hash: sched::addrHash (murmur3Words over w[0..3], kAddrHashSeed).
static __always_inline __u32 addr_hash(const __u8* a) {
  __u32 h = 0x53726341u;  // kAddrHashSeed, "SrcA"
#pragma unroll
  for (int i = 0; i < 4; i++) h = murmur_round(h, addr_word(a, i));
  return murmur_final(h, 4);
}

// ---- helpers ----

static __always_inline void v4_mapped(__u8* dst, __be32 addr) {
  __builtin_memset(dst, 0, 10);
  dst[10] = 0xff;
  dst[11] = 0xff;
  __builtin_memcpy(dst + 12, &addr, 4);
}

static __always_inline __u16 ipv4_csum(struct iphdr* iph) {
  __u32 sum = 0;
  __u16* p = (__u16*)iph;
#pragma unroll
  for (int i = 0; i < (int)(sizeof(*iph) / 2); i++) sum += p[i];
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

// The parsed packet.
struct packet {
  struct fulcrum_flow_key flow;
  __u32 l2len;      // 14, or 18 with a VLAN tag
  __u32 inner_len;  // the IP packet's length (IPv4 total length; IPv6 40 + payload)
  __u8 v6;
  __u8 tos;
  __u8 tcp_flags;  // TCP: the flags byte (0x02 SYN, 0x04 RST)
  __u8 icmp;       // an ICMP error about a flow: `flow` is that flow (client -> VIP)
};

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04

enum parse_result { PARSE_OK, PARSE_PASS_OTHER, PARSE_PASS_FRAG, PARSE_PASS_OPTIONS, PARSE_BAD };

// ICMP "fragmentation needed" (IPv4 type 3 code 4) and ICMPv6 "packet too big" (type 2)
// about a VIP's flow: they quote the packet that did not fit, which the real sent from the
// VIP to the client; `flow` becomes that flow seen the other way (client -> VIP), so the
// error goes to the flow's real, whose path MTU it concerns. Other ICMP goes to the stack.
static __always_inline int parse_icmp(void* data, void* end, __u32 off, struct packet* pkt) {
  __u8* icmp = data + off;
  if ((void*)(icmp + 8) > end) return PARSE_BAD;
  if (!pkt->v6 && !(icmp[0] == 3 && icmp[1] == 4)) return PARSE_PASS_OTHER;
  if (pkt->v6 && icmp[0] != 2) return PARSE_PASS_OTHER;
  off += 8;
  __u8 l4;
  if (!pkt->v6) {
    struct iphdr* q = data + off;
    if ((void*)(q + 1) > end) return PARSE_BAD;
    if (q->ihl != 5) return PARSE_PASS_OTHER;
    l4 = q->protocol;
    v4_mapped(pkt->flow.dst, q->saddr);  // the VIP
    v4_mapped(pkt->flow.src, q->daddr);  // the client
    off += sizeof(*q);
  } else {
    struct ipv6hdr* q = data + off;
    if ((void*)(q + 1) > end) return PARSE_BAD;
    l4 = q->nexthdr;
    __builtin_memcpy(pkt->flow.dst, &q->saddr, 16);
    __builtin_memcpy(pkt->flow.src, &q->daddr, 16);
    off += sizeof(*q);
  }
  if (l4 != IPPROTO_TCP && l4 != IPPROTO_UDP) return PARSE_PASS_OTHER;
  __be16* ports = data + off;
  if ((void*)(ports + 2) > end) return PARSE_BAD;
  pkt->flow.dport = ports[0];  // the quoted packet's source port: the VIP's
  pkt->flow.sport = ports[1];
  pkt->flow.proto = l4;
  pkt->tcp_flags = 0;
  pkt->icmp = 1;
  return PARSE_OK;
}

static __always_inline int parse(void* data, void* end, struct packet* pkt) {
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return PARSE_BAD;
  __u16 proto = eth->h_proto;
  __u32 off = sizeof(*eth);
  if (proto == bpf_htons(ETH_P_8021Q)) {
    struct vlan_hdr* vh = data + off;
    if ((void*)(vh + 1) > end) return PARSE_BAD;
    proto = vh->proto;
    off += sizeof(*vh);
  }
  pkt->l2len = off;
  __u8 l4proto;
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* iph = data + off;
    if ((void*)(iph + 1) > end) return PARSE_BAD;
    if (iph->version != 4 || iph->ihl < 5) return PARSE_BAD;
    if (iph->ihl != 5) return PARSE_PASS_OPTIONS;
    if (iph->frag_off & bpf_htons(0x3fff)) return PARSE_PASS_FRAG;  // MF or an offset
    l4proto = iph->protocol;
    pkt->v6 = 0;
    pkt->tos = iph->tos;
    pkt->inner_len = bpf_ntohs(iph->tot_len);
    if (pkt->inner_len < sizeof(*iph)) return PARSE_BAD;
    v4_mapped(pkt->flow.src, iph->saddr);
    v4_mapped(pkt->flow.dst, iph->daddr);
    off += sizeof(*iph);
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6h = data + off;
    if ((void*)(ip6h + 1) > end) return PARSE_BAD;
    if (ip6h->version != 6) return PARSE_BAD;
    l4proto = ip6h->nexthdr;
    if (l4proto == IPPROTO_FRAGMENT) return PARSE_PASS_FRAG;
    if (l4proto == IPPROTO_HOPOPTS || l4proto == IPPROTO_ROUTING || l4proto == IPPROTO_DSTOPTS ||
        l4proto == IPPROTO_AH || l4proto == IPPROTO_ESP)
      return PARSE_PASS_OPTIONS;
    pkt->v6 = 1;
    pkt->tos = (ip6h->priority << 4) | (ip6h->flow_lbl[0] >> 4);
    pkt->inner_len = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
    __builtin_memcpy(pkt->flow.src, &ip6h->saddr, 16);
    __builtin_memcpy(pkt->flow.dst, &ip6h->daddr, 16);
    off += sizeof(*ip6h);
  } else {
    return PARSE_PASS_OTHER;
  }
  if ((!pkt->v6 && l4proto == IPPROTO_ICMP) || (pkt->v6 && l4proto == IPPROTO_ICMPV6))
    return parse_icmp(data, end, off, pkt);
  pkt->flow.proto = l4proto;
  if (l4proto == IPPROTO_TCP) {
    struct tcphdr* th = data + off;
    if ((void*)(th + 1) > end) return PARSE_BAD;
    pkt->flow.sport = th->source;
    pkt->flow.dport = th->dest;
    pkt->tcp_flags = ((__u8*)th)[13];
  } else if (l4proto == IPPROTO_UDP) {
    struct udphdr* uh = data + off;
    if ((void*)(uh + 1) > end) return PARSE_BAD;
    pkt->flow.sport = uh->source;
    pkt->flow.dport = uh->dest;
    pkt->tcp_flags = 0;
  } else {
    return PARSE_PASS_OTHER;
  }
  return PARSE_OK;
}

// Where a frame for the real goes: its own MAC when the control plane knows it (on the
// link), else the configured next hop.
static __always_inline const __u8* next_hop(const struct fulcrum_real_def* rd,
                                            const struct fulcrum_settings* st) {
  const __u8* m = rd->mac;
  return (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) ? m : st->next_hop_mac;
}

// Copies the old L2 header (now `room` bytes further in) to the front and points it at
// the next hop, with `proto` as the (inner-most) EtherType.
static __always_inline int rewrite_l2(void* data, void* end, __u32 l2len, __u32 room,
                                      const __u8* dst, const struct fulcrum_settings* st,
                                      __u16 proto) {
  if (l2len == sizeof(struct ethhdr)) {
    if (data + room + sizeof(struct ethhdr) > end) return -1;
    struct ethhdr* eth = data;
    __builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
    __builtin_memcpy(eth->h_source, st->src_mac, ETH_ALEN);
    eth->h_proto = proto;
    return 0;
  }
  if (data + room + sizeof(struct ethhdr) + sizeof(struct vlan_hdr) > end) return -1;
  struct ethhdr* eth = data;
  struct vlan_hdr* vh = (void*)(eth + 1);
  struct vlan_hdr* oldvh = data + room + sizeof(struct ethhdr);
  __builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
  __builtin_memcpy(eth->h_source, st->src_mac, ETH_ALEN);
  eth->h_proto = bpf_htons(ETH_P_8021Q);
  vh->tci = oldvh->tci;
  vh->proto = proto;
  return 0;
}

// The source port of a GUE packet: the flow hash in the dynamic port range, so that the
// real's RSS spreads the flows.
static __always_inline __be16 gue_sport(__u32 hash) { return bpf_htons(0xc000 | (hash & 0x3fff)); }

// IPIP (inner IPv4) or 6-in-4 (inner IPv6) to an IPv4 real; with `gue`, a UDP header
// (GUE variant 1: the inner IP packet right after it) between the two.
static __always_inline int encap_v4(struct xdp_md* ctx, const struct packet* pkt,
                                    const struct fulcrum_real_def* rd,
                                    const struct fulcrum_settings* st, __u32 hash, int gue) {
  const __u32 room = sizeof(struct iphdr) + (gue ? sizeof(struct udphdr) : 0);
  if (pkt->inner_len > 0xffff - room) return -1;
  if (bpf_xdp_adjust_head(ctx, -(int)room)) return -1;
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  const __u32 l2len = pkt->l2len;
  if (l2len > sizeof(struct ethhdr) + sizeof(struct vlan_hdr)) return -1;  // bounds it
  if (rewrite_l2(data, end, l2len, room, next_hop(rd, st), st, bpf_htons(ETH_P_IP))) return -1;
  struct iphdr* iph = data + l2len;
  if ((void*)(iph + 1) > end) return -1;
  const __u32 count = st->outer_v4_count ? st->outer_v4_count : 1;
  iph->version = 4;
  iph->ihl = 5;
  iph->tos = pkt->tos;
  iph->tot_len = bpf_htons(pkt->inner_len + room);
  iph->id = 0;
  iph->frag_off = 0;
  iph->ttl = 64;
  iph->protocol = gue ? IPPROTO_UDP : pkt->v6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
  iph->check = 0;
  iph->saddr = bpf_htonl(bpf_ntohl(st->outer_v4_base) + hash % count);
  __builtin_memcpy(&iph->daddr, rd->addr + 12, 4);
  iph->check = ipv4_csum(iph);
  if (gue) {
    struct udphdr* uh = (void*)(iph + 1);
    if ((void*)(uh + 1) > end) return -1;
    uh->source = gue_sport(hash);
    uh->dest = st->gue_port;
    uh->len = bpf_htons(pkt->inner_len + sizeof(*uh));
    uh->check = 0;  // optional over IPv4
  }
  return 0;
}

// IP6IP6 (inner IPv6) or 4-in-6 (inner IPv4) to an IPv6 real; with `gue`, a UDP header
// between the two.
static __always_inline int encap_v6(struct xdp_md* ctx, const struct packet* pkt,
                                    const struct fulcrum_real_def* rd,
                                    const struct fulcrum_settings* st, __u32 hash, int gue) {
  const __u32 room = sizeof(struct ipv6hdr) + (gue ? sizeof(struct udphdr) : 0);
  if (pkt->inner_len > 0xffff - (room - sizeof(struct ipv6hdr))) return -1;
  if (bpf_xdp_adjust_head(ctx, -(int)room)) return -1;
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  const __u32 l2len = pkt->l2len;
  if (l2len > sizeof(struct ethhdr) + sizeof(struct vlan_hdr)) return -1;  // bounds it
  if (rewrite_l2(data, end, l2len, room, next_hop(rd, st), st, bpf_htons(ETH_P_IPV6))) return -1;
  struct ipv6hdr* ip6h = data + l2len;
  if ((void*)(ip6h + 1) > end) return -1;
  ip6h->version = 6;
  ip6h->priority = pkt->tos >> 4;
  ip6h->flow_lbl[0] = ((pkt->tos & 0xf) << 4) | ((hash >> 16) & 0xf);
  ip6h->flow_lbl[1] = (hash >> 8) & 0xff;
  ip6h->flow_lbl[2] = hash & 0xff;
  ip6h->payload_len = bpf_htons(pkt->inner_len + (room - sizeof(struct ipv6hdr)));
  ip6h->nexthdr = gue ? IPPROTO_UDP : pkt->v6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
  ip6h->hop_limit = 64;
  __builtin_memcpy(&ip6h->saddr, st->outer_v6_base, 12);
  __be32 low = bpf_htonl(hash);
  __builtin_memcpy((__u8*)&ip6h->saddr + 12, &low, 4);
  __builtin_memcpy(&ip6h->daddr, rd->addr, 16);
  if (gue) {
    struct udphdr* uh = (void*)(ip6h + 1);
    if ((void*)(uh + 1) > end) return -1;
    uh->source = gue_sport(hash);
    uh->dest = st->gue_port;
    uh->len = bpf_htons(pkt->inner_len + sizeof(*uh));
    // Zero over IPv6 (RFC 6935/6936, as tunnels do): Fulcrum's decap accepts it; a kernel
    // FOU receiver needs udp6zerocsumrx.
    uh->check = 0;
  }
  return 0;
}

// Out of the interface the packet came in on (XDP_TX), or through the devmap to the
// egress interface the settings name.
static __always_inline int send(const struct fulcrum_settings* st) {
  if (!st->redirect) return XDP_TX;
  return bpf_redirect_map(&fulcrum_tx_ports, 0, 0);
}

// ---- NAT ----

static __always_inline __u16 csum_fold(__u32 c) {
  c = (c & 0xffff) + (c >> 16);
  c = (c & 0xffff) + (c >> 16);
  return (__u16)~c;
}

// Rewrites one address (4 or 16 bytes at `field`) and one port of an IP packet in place,
// updating the IPv4 header checksum and the TCP/UDP checksum incrementally (RFC 1624). A
// zero UDP checksum over IPv4 (none) stays zero.
static __always_inline int nat_rewrite(void* data, void* end, const struct packet* pkt, int dst,
                                       const __u8* addr, __be16 port) {
  const __u32 l3 = pkt->l2len;
  if (l3 > sizeof(struct ethhdr) + sizeof(struct vlan_hdr)) return -1;
  __u32 l4off;
  __be32 oldaddr[4] = {}, newaddr[4] = {};
  const int alen = pkt->v6 ? 16 : 4;
  __sum16* l4sum;
  __be16* portp;
  if (!pkt->v6) {
    struct iphdr* iph = data + l3;
    if ((void*)(iph + 1) > end) return -1;
    __be32* a = dst ? &iph->daddr : &iph->saddr;
    oldaddr[0] = *a;
    __builtin_memcpy(&newaddr[0], addr + 12, 4);
    *a = newaddr[0];
    iph->check = csum_fold(bpf_csum_diff(oldaddr, 4, newaddr, 4, ~(__u32)iph->check & 0xffff));
    l4off = l3 + sizeof(*iph);
  } else {
    struct ipv6hdr* ip6h = data + l3;
    if ((void*)(ip6h + 1) > end) return -1;
    struct in6_addr* a = dst ? &ip6h->daddr : &ip6h->saddr;
    __builtin_memcpy(oldaddr, a, 16);
    __builtin_memcpy(newaddr, addr, 16);
    __builtin_memcpy(a, addr, 16);
    l4off = l3 + sizeof(*ip6h);
  }
  if (l4off > 64) return -1;
  if (pkt->flow.proto == IPPROTO_TCP) {
    struct tcphdr* th = data + l4off;
    if ((void*)(th + 1) > end) return -1;
    l4sum = &th->check;
    portp = dst ? &th->dest : &th->source;
  } else {
    struct udphdr* uh = data + l4off;
    if ((void*)(uh + 1) > end) return -1;
    l4sum = &uh->check;
    portp = dst ? &uh->dest : &uh->source;
    if (!pkt->v6 && uh->check == 0) {
      *portp = port;
      return 0;
    }
  }
  __u32 sum = ~(__u32)*l4sum & 0xffff;
  if (alen == 16)
    sum = bpf_csum_diff(oldaddr, 16, newaddr, 16, sum);
  else
    sum = bpf_csum_diff(oldaddr, 4, newaddr, 4, sum);
  __be32 oldp = *portp, newp = port;
  sum = bpf_csum_diff(&oldp, 4, &newp, 4, sum);
  *portp = port;
  __u16 folded = csum_fold(sum);
  if (pkt->flow.proto == IPPROTO_UDP && folded == 0) folded = 0xffff;
  *l4sum = folded;
  return 0;
}

// L2 toward `mac` (a zero MAC: the next hop).
static __always_inline int l2_to(void* data, void* end, const __u8* mac,
                                 const struct fulcrum_settings* st) {
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return -1;
  const int none = !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
  __builtin_memcpy(eth->h_dest, none ? st->next_hop_mac : mac, ETH_ALEN);
  __builtin_memcpy(eth->h_source, st->src_mac, ETH_ALEN);
  return 0;
}

SEC("xdp")
int fulcrum_balancer(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u32 zero = 0;
  struct fulcrum_global_stats* gs = bpf_map_lookup_elem(&fulcrum_stats, &zero);
  const struct fulcrum_settings* st = bpf_map_lookup_elem(&fulcrum_settings, &zero);
  if (!gs || !st) return XDP_PASS;
  gs->packets++;

  struct packet pkt = {};
  switch (parse(data, end, &pkt)) {
    case PARSE_OK: break;
    case PARSE_PASS_FRAG: gs->passed_frag++; return XDP_PASS;
    case PARSE_PASS_OPTIONS: gs->passed_options++; return XDP_PASS;
    case PARSE_BAD: gs->malformed++; return XDP_DROP;
    default: gs->passed_other++; return XDP_PASS;
  }

  // The VIP: its exact port, else its all-ports entry.
  struct fulcrum_vip_key vk = {};
  __builtin_memcpy(vk.addr, pkt.flow.dst, 16);
  vk.port = pkt.flow.dport;
  vk.proto = pkt.flow.proto;
  struct fulcrum_vip_meta* vip = bpf_map_lookup_elem(&fulcrum_vips, &vk);
  if (!vip) {
    vk.port = 0;
    vip = bpf_map_lookup_elem(&fulcrum_vips, &vk);
    if (vip && !(vip->flags & FULCRUM_VIP_ALL_PORTS)) vip = 0;
  }
  if (!vip) {
    // A NAT real's reply: rewritten back to the VIP, on to the MAC the client's packets
    // came from.
    struct fulcrum_nat_back* back = bpf_map_lookup_elem(&fulcrum_nat, &pkt.flow);
    if (back) {
      if (nat_rewrite(data, end, &pkt, 0, back->vip, back->vip_port) ||
          l2_to(data, end, back->peer_mac, st)) {
        gs->malformed++;
        return XDP_DROP;
      }
      gs->nat_returned++;
      return send(st);
    }
    gs->passed_no_vip++;
    return XDP_PASS;
  }
  const __u32 ring = vip->ring;
  const __u32 half = vip->half & 1;
  struct fulcrum_vip_stats* vs = bpf_map_lookup_elem(&fulcrum_vip_stats, &ring);
  if (vs) {
    vs->packets++;
    vs->bytes += end - data;
  }

  // The flow's real: the connection table, else the VIP's ring. Only UDP entries age, so
  // only UDP packets read the clock.
  const int is_udp = pkt.flow.proto == IPPROTO_UDP;
  const __u64 now = is_udp ? bpf_ktime_get_ns() : 0;
  __u32 hash = 0;
  __u32 real = NO_REAL;
  int stored = 0;
  const struct fulcrum_real_def* rd = 0;
  struct fulcrum_flow_value* fv = bpf_map_lookup_elem(&fulcrum_conns, &pkt.flow);
  if (fv) {
    const int fresh = !is_udp || now - fv->seen_ns < st->udp_timeout_ns;
    __u32 r = fv->real;
    rd = bpf_map_lookup_elem(&fulcrum_reals, &r);
    if (fresh && rd && rd->forward != 0) {
      real = r;
      hash = fv->hash;
      if (is_udp) fv->seen_ns = now;
      gs->lru_hits++;
    } else {
      rd = 0;
    }
  }
  if (real == NO_REAL) {
    gs->lru_misses++;
    const __u32 size = ring_size;
    if (size == 0) return XDP_PASS;
    hash = flow_hash(&pkt.flow);
    // The slot: by the flow hash, the client's address, or the VIP's round-robin walk.
    // A TCP miss that is not a SYN (a flow another node or an earlier table started)
    // always takes the flow hash, which every node computes alike.
    __u32 pick = hash;
    const int opening = is_udp || (pkt.tcp_flags & TCP_FLAG_SYN);
    if (opening && (vip->flags & FULCRUM_VIP_SCHED_SOURCE)) {
      pick = addr_hash(pkt.flow.src);
    } else if (opening && (vip->flags & FULCRUM_VIP_SCHED_RR)) {
      __u32* pos = bpf_map_lookup_elem(&fulcrum_rr, &ring);
      if (pos) pick = (*pos)++;
    }
    __u32 slot = (ring * 2 + half) * size + pick % size;
    __u32* r = bpf_map_lookup_elem(&fulcrum_rings, &slot);
    if (!r || *r == NO_REAL) {
      gs->no_real++;
      return XDP_DROP;
    }
    real = *r;
    rd = bpf_map_lookup_elem(&fulcrum_reals, &real);
    if (!rd || rd->forward == 0) {
      gs->no_real++;
      return XDP_DROP;
    }
    // A reset never creates an entry (it would only pin a dead flow); above the flood
    // guard's rate, new flows are forwarded but not stored.
    int store = !(pkt.tcp_flags & TCP_FLAG_RST) && !pkt.icmp;
    if (store && st->new_flow_rate) {
      struct fulcrum_flood_window* w = bpf_map_lookup_elem(&fulcrum_flood, &zero);
      if (w) {
        const __u64 t = bpf_ktime_get_ns();
        if (t - w->start_ns >= 1000000000ull) {
          w->start_ns = t;
          w->inserted = 0;
        }
        if (w->inserted >= st->new_flow_rate) {
          gs->flood_skipped++;
          store = 0;
        } else {
          w->inserted++;
        }
      }
    }
    if (store) {
      struct fulcrum_flow_value nv = {.real = real, .hash = hash, .seen_ns = now};
      bpf_map_update_elem(&fulcrum_conns, &pkt.flow, &nv, BPF_ANY);
      if (vs) vs->new_flows++;
      stored = 1;
    }
  }
  struct fulcrum_real_stats* rs = bpf_map_lookup_elem(&fulcrum_real_stats, &real);
  if (rs) {
    rs->packets++;
    rs->bytes += end - data;
    rs->new_flows += stored;
  }

  if (rd->forward == FULCRUM_FWD_NAT) {
    if (pkt.icmp) {  // its quoted headers would need NAT too: left to the stack
      gs->passed_other++;
      return XDP_PASS;
    }
    if (!!(rd->flags & FULCRUM_REAL_V6) != pkt.v6) {
      gs->nat_family++;
      return XDP_DROP;
    }
    const __be16 rport = rd->port ? rd->port : pkt.flow.dport;
    // The reply's flow, as it will arrive: real -> client.
    struct fulcrum_flow_key reply = {};
    __builtin_memcpy(reply.src, rd->addr, 16);
    __builtin_memcpy(reply.dst, pkt.flow.src, 16);
    reply.sport = rport;
    reply.dport = pkt.flow.sport;
    reply.proto = pkt.flow.proto;
    struct fulcrum_nat_back back = {};
    __builtin_memcpy(back.vip, pkt.flow.dst, 16);
    back.vip_port = pkt.flow.dport;
    {
      struct ethhdr* eth = data;
      if ((void*)(eth + 1) > end) return XDP_DROP;
      __builtin_memcpy(back.peer_mac, eth->h_source, ETH_ALEN);
    }
    bpf_map_update_elem(&fulcrum_nat, &reply, &back, BPF_ANY);
    if (nat_rewrite(data, end, &pkt, 1, rd->addr, rport) || l2_to(data, end, rd->mac, st)) {
      gs->malformed++;
      return XDP_DROP;
    }
    gs->forwarded++;
    return send(st);
  }
  if (rd->forward == FULCRUM_FWD_DR) {
    // Direct routing: the same packet, to the real's MAC (the real holds the VIP on lo).
    struct ethhdr* eth = data;
    if ((void*)(eth + 1) > end) return XDP_DROP;
    __builtin_memcpy(eth->h_dest, rd->mac, ETH_ALEN);
    __builtin_memcpy(eth->h_source, st->src_mac, ETH_ALEN);
    gs->forwarded++;
    if (pkt.icmp) gs->icmp_forwarded++;
    return send(st);
  }
  const int gue = rd->forward == FULCRUM_FWD_GUE;
  int err = (rd->flags & FULCRUM_REAL_V6) ? encap_v6(ctx, &pkt, rd, st, hash, gue)
                                          : encap_v4(ctx, &pkt, rd, st, hash, gue);
  if (err) {
    gs->encap_failed++;
    return XDP_DROP;
  }
  gs->forwarded++;
  if (pkt.icmp) gs->icmp_forwarded++;
  return send(st);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
