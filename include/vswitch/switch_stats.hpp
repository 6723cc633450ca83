// Switch-wide counters, and the reasons a datagram or frame is dropped. Every drop has a
// reason and a counter: nothing the switch refuses disappears silently.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vswitch/counter.hpp"
#include "vswitch/metrics.hpp"

namespace vswitch {

enum class DropReason : std::uint8_t {
  truncated,          // shorter than its message type needs
  bad_version,        // protocol version not 1
  bad_type,           // unknown message type, or one a server never receives
  bad_flags,          // flag bits v1 does not define
  bad_length,         // longer than its message type allows
  bad_field,          // reserved bytes set, MTU out of range, unknown reason code
  oversize_datagram,  // larger than the receive buffer (cut by the kernel)
  unknown_session,    // receiver index names no session (or one that just ended)
  endpoint_mismatch,  // v1: the index names a session, but the datagram came from elsewhere
  port_table_full,    // HELLO refused: no free port
  bad_source_mac,     // source MAC is multicast, broadcast or all-zero
  frame_too_big,      // frame larger than the ingress port's negotiated MTU
  egress_mtu,         // frame larger than an egress port's MTU (not sent there)
  no_egress,          // flood with no other port in the network
  tx_error,           // the kernel refused to send, or the TX ring was full
  bad_underlay,       // AF_XDP: the Ethernet/IP/UDP around the message is malformed
  no_frame,           // AF_XDP: UMEM exhausted, no frame for a copy or reply
  bad_tag,            // v2: the AEAD tag did not verify (forged, corrupted, wrong key)
  replay,             // the counter was seen before, or is older than the replay window
  expired_session,    // the session is past its lifetime or message limit
  version_mismatch,   // v1 to a secure server, or v2 to an insecure one
  handshake_queue_full,  // the control thread is behind: handshake message dropped
  pinned_mac,         // the source MAC is pinned to another member
  storm_control,      // the ingress port is over its flood budget (storm control)
  bad_source_address, // an underlay source no real sender has (loopback, multicast, our own, ...)
  denied_source,      // an underlay source the operator's --allow-underlay/--deny-underlay refuses
  bad_vxlan,          // EVPN: a VXLAN datagram without the I flag or too short for a frame
  unknown_vni,        // EVPN: a VNI no network of ours runs on
  unknown_vtep,       // EVPN: VXLAN from a server BGP has not told us of for that VNI
  count_
};
inline constexpr std::size_t kDropReasonCount = static_cast<std::size_t>(DropReason::count_);

std::string_view to_string(DropReason reason);

// Written under the switch lock, read by anyone without it (counter.hpp).
struct SwitchStats {
  Counter rx_packets, rx_bytes;  // every datagram received
  Counter tx_packets, tx_bytes;  // every datagram queued for sending
  Counter rx_frames;             // DATA frames accepted for switching
  Counter unicast;               // frames sent to one known port
  Counter flooded;               // frames flooded (broadcast/multicast/unknown)
  Counter flood_copies;          // datagrams produced by flooding
  Counter filtered;              // destination is on the ingress port: not sent
  Counter learned, moved, aged;
  Counter replaced_own;    // a port at its limit gave up its own oldest MAC
  Counter evicted;         // a full table took the oldest MAC of the port that held the most
  Counter learn_refused;   // not learned: network at its limit, or no index slot
  Counter moves_dampened;  // moves refused: the MAC flaps between ports (frozen)
  Counter ports_joined, ports_left, ports_timed_out, ports_revoked;
  Counter control_replies_suppressed;  // rate-limited replies to unauthenticated senders
  Counter roams;                       // authenticated packets that moved an endpoint
  Counter remote_learned, remote_moved, remote_withdrawn;  // EVPN: MACs behind other servers, by route
  Counter evpn_duplicates;  // EVPN: a route moved a MAC that flaps between servers: frozen, not moved
  Counter vxlan_rx, vxlan_tx;  // EVPN: frames from and to other servers
  std::array<Counter, kDropReasonCount> drops{};

  void drop(DropReason reason) noexcept { ++drops[static_cast<std::size_t>(reason)]; }
  std::uint64_t drops_total() const noexcept;
  // Lock-free: every field is a Counter.
  void describe(metrics::Samples& out) const;
};

}  // namespace vswitch

namespace vswitch {

// Why the control thread refused a handshake (v2 initiation or v1 HELLO).
enum class HandshakeRefusal : std::uint8_t {
  bad_mac1,         // not even addressed to this server's key: dropped before any DH
  bad_handshake,    // did not decrypt: the client pins another server key, or forged
  not_member,       // a valid key that the members file does not list for that network
  stale_timestamp,  // not newer than that member's last initiation (a replay)
  too_frequent,     // more than 50 initiations a second from one member
  rate_limited,     // under load: over the per-source budget even with a valid cookie
  no_common_suite,  // no cipher suite both sides accept
  tables_full,      // no free port or session slot
  bad_token,        // v1: HELLO with a token that does not match its source
  count_
};
inline constexpr std::size_t kHandshakeRefusalCount = static_cast<std::size_t>(HandshakeRefusal::count_);
std::string_view to_string(HandshakeRefusal reason);

// Written by the control thread only, read by anyone (counter.hpp).
struct HandshakeStats {
  Counter accepted{0};           // sessions installed (v2) or joins proven (v1)
  Counter challenges_sent{0};    // v1 CHALLENGE replies
  Counter cookies_sent{0};       // v2 COOKIE REPLY under load
  Counter version_replies{0};    // "wrong protocol version" hints sent
  Counter unknown_session_replies{0};  // v1 BYE(unknown_session) hints sent
  Counter replies_suppressed{0};       // hints not sent: over the sender's budget
  Counter queue_full{0};               // dropped before the control thread saw them
  std::array<Counter, kHandshakeRefusalCount> refused{};
  void refuse(HandshakeRefusal r) noexcept { bump(refused[static_cast<std::size_t>(r)]); }
  std::uint64_t refused_total() const noexcept;
  void describe(metrics::Samples& out) const;
};

}  // namespace vswitch
