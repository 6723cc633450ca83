/* The ABI between bpf/vswitch_xdp.bpf.c and the userspace loader: counter indices and map
 * sizes, defined once here and included by both sides (C, so the BPF compiler reads it). */
#ifndef VSWITCH_BPF_ABI_H
#define VSWITCH_BPF_ABI_H

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
  VSWITCH_XDP_COUNTER_COUNT = 6,
};

/* One XSKMAP slot per receive queue. */
#define VSWITCH_XDP_MAX_QUEUES 64

#endif
