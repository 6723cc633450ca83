/* The ABI between bpf/vswitch_xdp.bpf.c and the userspace loader: counter indices, map sizes
 * and map layouts, defined once here and included by both sides (C, so the BPF compiler reads it). */
#ifndef VSWITCH_BPF_ABI_H
#define VSWITCH_BPF_ABI_H

#include <linux/types.h>

/* Slots of the per-CPU `counters` array. */
enum vswitch_xdp_counter {
  VSWITCH_XDP_REDIRECTED = 0, /* tunnel packet handed to the queue's AF_XDP socket */
  VSWITCH_XDP_PASSED = 1,     /* not for us: left to the kernel stack (SSH, ARP, ...) */
  VSWITCH_XDP_MALFORMED = 2,  /* truncated or inconsistent headers: left to the kernel */
  VSWITCH_XDP_NO_SOCKET = 3,  /* tunnel packet on a queue without a socket: left to the kernel */
  VSWITCH_XDP_SUPER = 4,      /* tunnel packet that is, or may be, several datagrams in one (a
                                 UDP GSO/GRO super-packet, which generic mode sees whole), or
                                 larger than a UMEM frame: left to the kernel's UDP stack, which
                                 splits it for the slow-path socket */
  VSWITCH_XDP_CONTROL = 5,    /* a handshake-family message: left to the kernel, whose socket feeds
                                 the control thread */
  VSWITCH_XDP_BOGUS_SOURCE = 6,  /* tunnel packet from an impossible source (underlay_sources.h):
                                    dropped, since the kernel's own source checks never see it */
  VSWITCH_XDP_DENIED_SOURCE = 7, /* tunnel packet from a source the operator's allow/deny list
                                    refuses (--allow-underlay, --deny-underlay): dropped */
  VSWITCH_XDP_COUNTER_COUNT = 8,
};

/* One XSKMAP slot per receive queue. */
#define VSWITCH_XDP_MAX_QUEUES 64

/* The `underlay_rules` LPM trie: the operator's allow/deny prefixes, keyed by 128-bit address
 * with IPv4 as ::ffff:a.b.c.d (prefix length 96 + n), valued by a verdict. It holds the rules
 * and one boundary entry, ::ffff:0:0/96 with the default verdict, so that a short IPv6 prefix
 * (::/0) never decides for IPv4 (vswitch/underlay_policy.hpp). */
#define VSWITCH_XDP_MAX_UNDERLAY_RULES 1024
#define VSWITCH_XDP_UNDERLAY_TRIE_SIZE (VSWITCH_XDP_MAX_UNDERLAY_RULES + 1)

struct vswitch_underlay_key {
  __u32 prefixlen; /* the LPM trie's own field: bits of `addr` that count */
  __u8 addr[16];
};

enum vswitch_underlay_verdict {
  VSWITCH_UNDERLAY_ALLOW = 1,
  VSWITCH_UNDERLAY_DENY = 2,
};

#endif
