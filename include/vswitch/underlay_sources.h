/* Underlay source addresses that no real tunnel peer can have. The AF_XDP datapath takes packets
 * before the kernel's own checks (rp_filter, martian sources, nftables) could refuse them, so
 * the XDP program, the AF_XDP worker and the socket datapath all refuse these themselves, by
 * this one definition (C, so the BPF compiler reads it too). Addresses are in network order. */
#ifndef VSWITCH_UNDERLAY_SOURCES_H
#define VSWITCH_UNDERLAY_SOURCES_H

#include <linux/types.h>

/* The first octet of a network-order IPv4 address held in a host integer. */
static inline __u8 vswitch_ipv4_first_octet(__u32 addr) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return (__u8)(addr & 0xff);
#else
  return (__u8)(addr >> 24);
#endif
}

/* `own`: the server's listen address, or 0 when it listens on the any-address (0.0.0.0 is
 * impossible anyway, so 0 cannot hide a real address). */
static inline int vswitch_ipv4_source_is_impossible(__u32 addr, __u32 own) {
  const __u8 first = vswitch_ipv4_first_octet(addr);
  if (first == 0) return 1;   /* 0.0.0.0/8: "this network", a source only before a host has an address */
  if (first == 127) return 1; /* 127.0.0.0/8: loopback never leaves its host, so on a wire it is forged */
  if (first >= 224) return 1; /* 224/4 multicast, 240/4 reserved and 255.255.255.255: destinations only */
  return own != 0 && addr == own; /* ours: arriving from outside, it can only be forged */
}

static inline int vswitch_ipv6_is_zero(const __u8 *bytes, int n) {
  for (int i = 0; i < n; i++)
    if (bytes[i] != 0) return 0;
  return 1;
}

/* `own`: the server's listen address, or a null pointer when it listens on the any-address.
 * Volatile because the XDP program passes its load-time constant, which the compiler must not
 * fold to the all-zero initial value. */
static inline int vswitch_ipv6_source_is_impossible(const __u8 *addr, const volatile __u8 *own) {
  if (addr[0] == 0xff) return 1; /* ff00::/8 multicast: a destination only */
  if (vswitch_ipv6_is_zero(addr, 10)) {
    /* ::ffff:0:0/96, IPv4-mapped: an API notation for IPv4 peers, never on an IPv6 wire */
    if (addr[10] == 0xff && addr[11] == 0xff) return 1;
    /* :: (unspecified, a source only during address autoconfiguration) and ::1 (loopback) */
    if (vswitch_ipv6_is_zero(addr + 10, 5) && addr[15] <= 1) return 1;
  }
  if (!own) return 0;
  for (int i = 0; i < 16; i++)
    if (addr[i] != own[i]) return 0;
  return 1; /* ours: arriving from outside, it can only be forged */
}

#endif
