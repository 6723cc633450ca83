// SPDX-License-Identifier: GPL-2.0
/* Steers vswitch's tunnel packets into AF_XDP sockets; everything else goes to the kernel.
 *
 * Ethernet [+ one 802.1Q/802.1ad tag] -> IPv4 (no options check needed, IHL honoured; no
 * fragments) or IPv6 (UDP as the first next header) -> UDP with destination port `cfg_port`
 * (and, when set, destination address `cfg_addr4`/`cfg_addr6`) -> the XSKMAP slot of the
 * receiving queue. A fragment, an unknown protocol or anything truncated is XDP_PASS: the
 * kernel deals with it as if we were not here. Knobs are read-only data set before load. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vswitch/bpf_abi.h"

const volatile __u16 cfg_port = 9797;  /* host order */
const volatile __u32 cfg_addr4 = 0;    /* network order; 0 = any */
const volatile __u8 cfg_addr6[16] = {}; /* all zero = any */
const volatile __u8 cfg_match_addr6 = 0;

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, VSWITCH_XDP_MAX_QUEUES);
  __type(key, __u32);
  __type(value, __u32);
} xsks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, VSWITCH_XDP_COUNTER_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct vlan_hdr {
  __be16 tci;
  __be16 encapsulated_proto;
};

static __always_inline int count(__u32 slot, int action) {
  __u64 *c = bpf_map_lookup_elem(&counters, &slot);
  if (c) *c += 1;
  return action;
}

static __always_inline int steer(struct xdp_md *ctx) {
  __u32 queue = ctx->rx_queue_index;
  if (!bpf_map_lookup_elem(&xsks, &queue)) return count(VSWITCH_XDP_NO_SOCKET, XDP_PASS);
  count(VSWITCH_XDP_REDIRECTED, XDP_REDIRECT);
  return bpf_redirect_map(&xsks, queue, XDP_PASS);
}

static __always_inline int is_our_port(void *udp_start, void *end) {
  struct udphdr *udp = udp_start;
  if ((void *)(udp + 1) > end) return -1;
  return bpf_ntohs(udp->dest) == cfg_port;
}

SEC("xdp")
int vswitch_xdp(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return count(VSWITCH_XDP_MALFORMED, XDP_PASS);
  __u16 proto = eth->h_proto;
  void *l3 = eth + 1;
  if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
    struct vlan_hdr *vlan = l3;
    if ((void *)(vlan + 1) > end) return count(VSWITCH_XDP_MALFORMED, XDP_PASS);
    proto = vlan->encapsulated_proto;
    l3 = vlan + 1;
  }

  int ours;
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr *ip = l3;
    if ((void *)(ip + 1) > end) return count(VSWITCH_XDP_MALFORMED, XDP_PASS);
    if (ip->ihl < 5) return count(VSWITCH_XDP_MALFORMED, XDP_PASS);
    if (ip->protocol != IPPROTO_UDP) return count(VSWITCH_XDP_PASSED, XDP_PASS);
    if (ip->frag_off & bpf_htons(0x3fff)) return count(VSWITCH_XDP_PASSED, XDP_PASS); /* MF or offset */
    if (cfg_addr4 && ip->daddr != cfg_addr4) return count(VSWITCH_XDP_PASSED, XDP_PASS);
    ours = is_our_port((__u8 *)ip + ip->ihl * 4, end);
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr *ip6 = l3;
    if ((void *)(ip6 + 1) > end) return count(VSWITCH_XDP_MALFORMED, XDP_PASS);
    if (ip6->nexthdr != IPPROTO_UDP) return count(VSWITCH_XDP_PASSED, XDP_PASS);
    if (cfg_match_addr6) {
      for (int i = 0; i < 16; i++)
        if (ip6->daddr.in6_u.u6_addr8[i] != cfg_addr6[i]) return count(VSWITCH_XDP_PASSED, XDP_PASS);
    }
    ours = is_our_port(ip6 + 1, end);
  } else {
    return count(VSWITCH_XDP_PASSED, XDP_PASS);
  }
  if (ours < 0) return count(VSWITCH_XDP_MALFORMED, XDP_PASS);
  if (!ours) return count(VSWITCH_XDP_PASSED, XDP_PASS);
  return steer(ctx);
}

char LICENSE[] SEC("license") = "GPL";
