// The real server's side of DSR: an XDP program that strips the encapsulation the
// balancer adds (IPIP, IP6IP6, 4-in-6, 6-in-4, GUE) from packets addressed to this host, and
// hands the inner packet to the stack (XDP_PASS), which delivers it to the socket bound
// on the VIP (configured on `lo`, see docs/real-servers.md). Everything else passes
// untouched. This kernel has no ipip module, and a real should not need one.
// The kernel's headers first: libbpf's need their types.
// clang-format off
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
// clang-format on

#include "xdp_abi.h"

// The UDP port GUE packets arrive on (network order), set before load.
const volatile __u16 gue_port = 0xc017;  // 6080

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, struct fulcrum_decap_stats);
  __uint(max_entries, 1);
} fulcrum_decap_stats SEC(".maps");  // decapsulated, passed and malformed packets

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct fulcrum_addr);
  __type(value, __u8);
  __uint(max_entries, 64);
} fulcrum_decap_addrs SEC(".maps");  // this host's addresses: tunnels to them are stripped

struct vlan_hdr {
  __be16 tci;
  __be16 proto;
};

// Removes `outer` bytes that follow the L2 header (l2len bytes): the L2 header moves
// forward over them, with `proto` as its EtherType.
static __always_inline int strip(struct xdp_md* ctx, __u32 l2len, __u32 outer, __u16 proto) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  if (l2len == sizeof(struct ethhdr)) {
    if (data + outer + sizeof(struct ethhdr) > end) return -1;
    struct ethhdr eth;
    __builtin_memcpy(&eth, data, sizeof(eth));
    eth.h_proto = proto;
    __builtin_memcpy(data + outer, &eth, sizeof(eth));
  } else {
    if (data + outer + sizeof(struct ethhdr) + sizeof(struct vlan_hdr) > end) return -1;
    struct {
      struct ethhdr eth;
      struct vlan_hdr vlan;
    } __attribute__((packed)) h;
    __builtin_memcpy(&h, data, sizeof(h));
    h.vlan.proto = proto;
    __builtin_memcpy(data + outer, &h, sizeof(h));
  }
  return bpf_xdp_adjust_head(ctx, (int)outer) ? -1 : 0;
}

SEC("xdp")
int fulcrum_decap(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u32 zero = 0;
  struct fulcrum_decap_stats* st = bpf_map_lookup_elem(&fulcrum_decap_stats, &zero);
  if (!st) return XDP_PASS;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_PASS;
  __u16 proto = eth->h_proto;
  __u32 l2len = sizeof(*eth);
  if (proto == bpf_htons(ETH_P_8021Q)) {
    struct vlan_hdr* vh = data + l2len;
    if ((void*)(vh + 1) > end) return XDP_PASS;
    proto = vh->proto;
    l2len += sizeof(*vh);
  }
  __u8 l4;
  __u32 iplen;
  struct fulcrum_addr dst = {};
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* iph = data + l2len;
    if ((void*)(iph + 1) > end) return XDP_PASS;
    l4 = iph->protocol;
    if (l4 != IPPROTO_IPIP && l4 != IPPROTO_IPV6 && l4 != IPPROTO_UDP) {
      st->passed++;
      return XDP_PASS;
    }
    if (iph->ihl != 5 || (iph->frag_off & bpf_htons(0x3fff))) {
      st->passed++;  // options or a fragment of a tunnel packet: the stack's business
      return XDP_PASS;
    }
    dst.b[10] = 0xff;
    dst.b[11] = 0xff;
    __builtin_memcpy(dst.b + 12, &iph->daddr, 4);
    iplen = sizeof(*iph);
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6h = data + l2len;
    if ((void*)(ip6h + 1) > end) return XDP_PASS;
    l4 = ip6h->nexthdr;
    if (l4 != IPPROTO_IPIP && l4 != IPPROTO_IPV6 && l4 != IPPROTO_UDP) {
      st->passed++;
      return XDP_PASS;
    }
    __builtin_memcpy(dst.b, &ip6h->daddr, 16);
    iplen = sizeof(*ip6h);
  } else {
    st->passed++;
    return XDP_PASS;
  }
  // GUE (variant 1): UDP to the GUE port, the inner IP packet right after the UDP header.
  __u32 outer = iplen;
  __u8 inner = l4;
  if (l4 == IPPROTO_UDP) {
    struct udphdr* uh = data + l2len + iplen;
    if ((void*)(uh + 1) > end || uh->dest != gue_port) {
      st->passed++;  // plain UDP
      return XDP_PASS;
    }
    outer += sizeof(*uh);
    inner = 0;  // told by the inner header's version
  }
  if (!bpf_map_lookup_elem(&fulcrum_decap_addrs, &dst)) {
    st->passed++;  // not for this host
    return XDP_PASS;
  }
  // The inner header must be there and be what the outer one says.
  void* in = data + l2len + outer;
  if (in + 1 > end) {
    st->malformed++;
    return XDP_DROP;
  }
  const __u8 version = *(__u8*)in >> 4;
  if (inner == 0) inner = version == 4 ? IPPROTO_IPIP : version == 6 ? IPPROTO_IPV6 : 0;
  if ((inner == IPPROTO_IPIP && version != 4) || (inner == IPPROTO_IPV6 && version != 6) ||
      inner == 0) {
    st->malformed++;
    return XDP_DROP;
  }
  if (strip(ctx, l2len, outer,
            inner == IPPROTO_IPIP ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6))) {
    st->malformed++;
    return XDP_DROP;
  }
  st->decapsulated++;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
