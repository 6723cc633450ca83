// SPDX-License-Identifier: GPL-2.0
/* Steers vswitch's per-packet messages into AF_XDP sockets; everything else goes to the kernel.
 *
 * Ethernet [+ one 802.1Q/802.1ad tag] -> IPv4 (no options check needed, IHL honoured; no
 * fragments) or IPv6 (UDP as the first next header) -> UDP with destination port `cfg_port`
 * (and, when set, destination address `cfg_addr4`/`cfg_addr6`) -> a DATA-family message
 * (v2 DATA/CONTROL, v1 DATA/KEEPALIVE) -> the XSKMAP slot of the receiving queue. Handshake
 * messages (v2 initiations, v1 HELLO/BYE) are left to the kernel: the server's slow-path socket
 * hands them to its control thread, so they never cost a worker anything. A fragment, an
 * unknown protocol or anything truncated is XDP_PASS: the kernel deals with it as if we were
 * not here. The wire facts (versions, types, header size) come from vswitch/wire_abi.h.
 *
 * Super-packets: generic (skb) mode runs after the stack has built the skb, so a UDP GSO train
 * sent on this host (veth) or a GRO-merged packet reaches us whole: one UDP header, then
 * several tunnel messages back to back. Only the kernel's UDP stack can take it apart, so a
 * tunnel packet is steered only when it is provably one message. v2 messages say their own
 * length (bytes 2..3): one message exactly when that equals the UDP payload. v1 has no length:
 * a KEEPALIVE is exactly a header, and a DATA message counts as one only when its inner IPv4/IPv6
 * frame ends exactly where the packet ends. Everything else goes to the slow-path socket, as does
 * any packet longer than a UMEM frame.
 *
 * Sources: a tunnel packet steered here never meets rp_filter, the martian-source checks or
 * nftables, so for packets to our port (and only those: other traffic stays the kernel's
 * business) the program refuses itself, before looking at the message (handshakes included):
 * an impossible source (loopback, multicast, broadcast, unspecified, v4-mapped on IPv6, our own
 * address; vswitch/underlay_sources.h) is XDP_DROP + `bogus_source`, and a source the operator's
 * allow/deny list refuses is XDP_DROP + `denied_source`. The list is an LPM trie (longest
 * prefix wins, IPv4 keyed as ::ffff:a.b.c.d); with no match `cfg_default_deny` decides, which
 * the loader sets when the list holds any allow rule.
 *
 * EVPN: with `cfg_vxlan_port` set, VXLAN to that port and the VTEP address (`cfg_vxlan_addr4`/
 * `cfg_vxlan_addr6`) from the other servers is steered the same way, after the same source
 * checks: a datagram with the I flag and room for a frame, one frame provably (generic mode: its
 * inner IP packet ends with the datagram). Anything else there goes to the kernel's VXLAN socket.
 * Knobs are read-only data set before load; `generic_mode` is set once the mode is known. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vswitch/bpf_abi.h"
#include "vswitch/underlay_sources.h"
#include "vswitch/wire_abi.h"

const volatile __u16 cfg_port = 9797;  /* host order */
const volatile __u32 cfg_addr4 = 0;    /* network order; 0 = any */
const volatile __u8 cfg_addr6[16] = {}; /* all zero = any */
const volatile __u8 cfg_match_addr6 = 0;
const volatile __u32 cfg_max_len = 0;   /* largest packet a UMEM frame holds; 0 = no limit */
const volatile __u8 cfg_default_deny = 0; /* a source no rule matches: 1 = deny (an allow list) */
const volatile __u16 cfg_vxlan_port = 0;   /* host order; 0 = no EVPN */
const volatile __u32 cfg_vxlan_addr4 = 0;  /* network order: the VTEP address */
const volatile __u8 cfg_vxlan_addr6[16] = {};
const volatile __u8 cfg_vxlan_ipv6 = 0;
__u8 generic_mode = 0;                  /* .bss: written by the loader after attaching */

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

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
  __uint(max_entries, VSWITCH_XDP_UNDERLAY_TRIE_SIZE);
  __type(key, struct vswitch_underlay_key);
  __type(value, __u8); /* enum vswitch_underlay_verdict */
} underlay_rules SEC(".maps");

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

enum port_kind { NOT_OURS = 0, TUNNEL = 1, VXLAN = 2, TRUNCATED = 3 };

static __always_inline __u16 destination_port(void *udp_start, void *end) {
  struct udphdr *udp = udp_start;
  if ((void *)(udp + 1) > end) return 0;
  return bpf_ntohs(udp->dest);
}

/* An Ethernet frame whose inner IPv4/IPv6 packet ends with the datagram: provably one frame. */
static __always_inline int is_single_frame(__u8 *frame, void *end) {
  if ((void *)(frame + ETH_HLEN) > end) return 0;
  __u16 type = ((struct ethhdr *)frame)->h_proto;
  __u8 *l3 = frame + ETH_HLEN;
  if (type == bpf_htons(ETH_P_8021Q) || type == bpf_htons(ETH_P_8021AD)) {
    struct vlan_hdr *vlan = (struct vlan_hdr *)l3;
    if ((void *)(vlan + 1) > end) return 0;
    type = vlan->encapsulated_proto;
    l3 = (__u8 *)(vlan + 1);
  }
  if (type == bpf_htons(ETH_P_IP)) {
    struct iphdr *ip = (struct iphdr *)l3;
    if ((void *)(ip + 1) > end) return 0;
    return l3 + bpf_ntohs(ip->tot_len) == end;
  }
  if (type == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr *ip6 = (struct ipv6hdr *)l3;
    if ((void *)(ip6 + 1) > end) return 0;
    return (__u8 *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) == end;
  }
  return 0;
}

enum source_verdict { SOURCE_ADMITTED = 0, SOURCE_IMPOSSIBLE = 1, SOURCE_DENIED = 2 };

/* The operator's list on a source already in trie form (prefixlen 128). */
static __always_inline enum source_verdict listed_verdict(const struct vswitch_underlay_key *source) {
  const __u8 *verdict = bpf_map_lookup_elem(&underlay_rules, source);
  if (verdict) return *verdict == VSWITCH_UNDERLAY_DENY ? SOURCE_DENIED : SOURCE_ADMITTED;
  return cfg_default_deny ? SOURCE_DENIED : SOURCE_ADMITTED;
}

static __always_inline enum source_verdict judge_ipv4_source(const struct iphdr *ip) {
  if (vswitch_ipv4_source_is_impossible(ip->saddr, cfg_addr4)) return SOURCE_IMPOSSIBLE;
  struct vswitch_underlay_key source = {.prefixlen = 128};
  source.addr[10] = 0xff;
  source.addr[11] = 0xff;
  __builtin_memcpy(&source.addr[12], &ip->saddr, 4);
  return listed_verdict(&source);
}

static __always_inline enum source_verdict judge_ipv6_source(const struct ipv6hdr *ip6) {
  struct vswitch_underlay_key source = {.prefixlen = 128};
  __builtin_memcpy(source.addr, &ip6->saddr, 16);
  if (vswitch_ipv6_source_is_impossible(source.addr, cfg_match_addr6 ? cfg_addr6 : 0)) return SOURCE_IMPOSSIBLE;
  return listed_verdict(&source);
}

enum steer_verdict { NOT_DATA = 0, SINGLE = 1, MAYBE_SEVERAL = 2 };

/* What the UDP payload is: a handshake-family message (for the kernel), one DATA-family
 * message, or possibly several (a train seen whole in generic mode). */
static __always_inline enum steer_verdict classify(void *udp_start, void *end) {
  __u8 *msg = (__u8 *)udp_start + sizeof(struct udphdr);
  if ((void *)(msg + VSWITCH_DATA_HEADER_SIZE) > end) return NOT_DATA;
  __u32 len = (__u32)((__u8 *)end - msg);
  if (msg[0] == VSWITCH_WIRE_V2) {
    if (msg[1] != VSWITCH_V2_DATA && msg[1] != VSWITCH_V2_CONTROL) return NOT_DATA;
    __u32 said = ((__u32)msg[VSWITCH_V2_LENGTH_OFFSET] << 8) | msg[VSWITCH_V2_LENGTH_OFFSET + 1];
    return said == len ? SINGLE : MAYBE_SEVERAL;
  }
  if (msg[0] == VSWITCH_WIRE_V1) {
    if (msg[1] == VSWITCH_V1_KEEPALIVE) return len == VSWITCH_DATA_HEADER_SIZE ? SINGLE : MAYBE_SEVERAL;
    if (msg[1] != VSWITCH_V1_DATA) return NOT_DATA;
    /* Native mode never sees trains (veth clears GSO when XDP is attached; NICs carry single
     * datagrams): only generic mode needs the inner-frame test. */
    return !generic_mode || is_single_frame(msg + VSWITCH_DATA_HEADER_SIZE, end) ? SINGLE : MAYBE_SEVERAL;
  }
  return NOT_DATA;
}

/* VXLAN from another server: the I flag and room for a frame, and one frame only. */
static __always_inline enum steer_verdict classify_vxlan(void *udp_start, void *end) {
  __u8 *hdr = (__u8 *)udp_start + sizeof(struct udphdr);
  if ((void *)(hdr + VSWITCH_VXLAN_HEADER_SIZE + ETH_HLEN) > end) return NOT_DATA;
  if (!(hdr[0] & VSWITCH_VXLAN_FLAG_VNI)) return NOT_DATA;
  return !generic_mode || is_single_frame(hdr + VSWITCH_VXLAN_HEADER_SIZE, end) ? SINGLE : MAYBE_SEVERAL;
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

  enum port_kind kind = NOT_OURS;
  void *udp;
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr *ip = l3;
    if ((void *)(ip + 1) > end) return count(VSWITCH_XDP_MALFORMED, XDP_PASS);
    if (ip->ihl < 5) return count(VSWITCH_XDP_MALFORMED, XDP_PASS);
    if (ip->protocol != IPPROTO_UDP) return count(VSWITCH_XDP_PASSED, XDP_PASS);
    if (ip->frag_off & bpf_htons(0x3fff)) return count(VSWITCH_XDP_PASSED, XDP_PASS); /* MF or offset */
    udp = (__u8 *)ip + ip->ihl * 4;
    __u16 port = destination_port(udp, end);
    if (!port) kind = TRUNCATED;
    else if (port == cfg_port && (!cfg_addr4 || ip->daddr == cfg_addr4)) kind = TUNNEL;
    else if (cfg_vxlan_port && port == cfg_vxlan_port && !cfg_vxlan_ipv6 && ip->daddr == cfg_vxlan_addr4) kind = VXLAN;
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr *ip6 = l3;
    if ((void *)(ip6 + 1) > end) return count(VSWITCH_XDP_MALFORMED, XDP_PASS);
    if (ip6->nexthdr != IPPROTO_UDP) return count(VSWITCH_XDP_PASSED, XDP_PASS);
    udp = ip6 + 1;
    __u16 port = destination_port(udp, end);
    if (!port) {
      kind = TRUNCATED;
    } else if (port == cfg_port) {
      kind = TUNNEL;
      if (cfg_match_addr6) {
        for (int i = 0; i < 16; i++)
          if (ip6->daddr.in6_u.u6_addr8[i] != cfg_addr6[i]) kind = NOT_OURS;
      }
    } else if (cfg_vxlan_port && port == cfg_vxlan_port && cfg_vxlan_ipv6) {
      kind = VXLAN;
      for (int i = 0; i < 16; i++)
        if (ip6->daddr.in6_u.u6_addr8[i] != cfg_vxlan_addr6[i]) kind = NOT_OURS;
    }
  } else {
    return count(VSWITCH_XDP_PASSED, XDP_PASS);
  }
  if (kind == TRUNCATED) return count(VSWITCH_XDP_MALFORMED, XDP_PASS);
  if (kind == NOT_OURS) return count(VSWITCH_XDP_PASSED, XDP_PASS);
  switch (proto == bpf_htons(ETH_P_IP) ? judge_ipv4_source(l3) : judge_ipv6_source(l3)) {
    case SOURCE_IMPOSSIBLE: return count(VSWITCH_XDP_BOGUS_SOURCE, XDP_DROP);
    case SOURCE_DENIED: return count(VSWITCH_XDP_DENIED_SOURCE, XDP_DROP);
    case SOURCE_ADMITTED: break;
  }
  if (cfg_max_len && end - data > cfg_max_len) return count(VSWITCH_XDP_SUPER, XDP_PASS);
  switch (kind == VXLAN ? classify_vxlan(udp, end) : classify(udp, end)) {
    case NOT_DATA: return count(VSWITCH_XDP_CONTROL, XDP_PASS);
    case MAYBE_SEVERAL: return count(VSWITCH_XDP_SUPER, XDP_PASS);
    case SINGLE: break;
  }
  return steer(ctx);
}

char LICENSE[] SEC("license") = "GPL";
