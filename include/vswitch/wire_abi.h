/* Wire facts that the XDP program, the C++ codecs, the tests and the scripts share: versions,
 * message types and the fixed DATA header. docs/protocol.md is the specification; this header
 * is the one place the numbers live (C, so the BPF compiler reads it too). */
#ifndef VSWITCH_WIRE_ABI_H
#define VSWITCH_WIRE_ABI_H

/* Byte 0 of every message. */
#define VSWITCH_WIRE_V1 1 /* plaintext, unauthenticated (--insecure) */
#define VSWITCH_WIRE_V2 2 /* Noise IK sessions, AEAD on every DATA */

/* Byte 1: message types. Both versions put their per-packet messages at 4 (and 3 / 5). */
#define VSWITCH_V1_HELLO 1
#define VSWITCH_V1_WELCOME 2
#define VSWITCH_V1_KEEPALIVE 3
#define VSWITCH_V1_DATA 4
#define VSWITCH_V1_BYE 5
#define VSWITCH_V1_CHALLENGE 6

#define VSWITCH_V2_INITIATION 1
#define VSWITCH_V2_RESPONSE 2
#define VSWITCH_V2_COOKIE_REPLY 3
#define VSWITCH_V2_DATA 4
#define VSWITCH_V2_CONTROL 5

/* The fixed header of DATA (v1, v2) and KEEPALIVE (v1) / CONTROL (v2):
 * version, type, 2 bytes (v1: flags, reserved; v2: message length), receiver index, counter. */
#define VSWITCH_DATA_HEADER_SIZE 16
/* v2: bytes 2..3 of DATA and CONTROL hold the whole message's length (big-endian), so a
 * datapath that sees a UDP GSO train whole (generic XDP) can tell one message from several. */
#define VSWITCH_V2_LENGTH_OFFSET 2
/* v2: the AEAD tag after the ciphertext. */
#define VSWITCH_TAG_SIZE 16

/* EVPN between servers: VXLAN (RFC 7348), its 8-byte header (I flag, 24-bit VNI) before the
 * plaintext frame. */
#define VSWITCH_VXLAN_HEADER_SIZE 8
#define VSWITCH_VXLAN_FLAG_VNI 0x08
#define VSWITCH_VXLAN_PORT 4789

#endif
