// Switch-wide counters, and the reasons a datagram or frame is dropped. Every drop has a
// reason and a counter: nothing the switch refuses disappears silently.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vswitch {

enum class DropReason : std::uint8_t {
  truncated,          // shorter than its message type needs
  bad_version,        // protocol version not 1
  bad_type,           // unknown message type, or one a server never receives
  bad_flags,          // flag bits v1 does not define
  bad_length,         // longer than its message type allows
  bad_field,          // reserved bytes set, MTU out of range, unknown reason code
  oversize_datagram,  // larger than the receive buffer (cut by the kernel)
  unknown_port,       // receiver index names no port
  endpoint_mismatch,  // receiver index is a port, but the datagram came from elsewhere
  port_table_full,    // HELLO refused: no free port
  bad_source_mac,     // source MAC is multicast, broadcast or all-zero
  frame_too_big,      // frame larger than the ingress port's negotiated MTU
  egress_mtu,         // frame larger than an egress port's MTU (not sent there)
  no_egress,          // flood with no other port in the network
  tx_error,           // the kernel refused to send, or the TX ring was full
  bad_underlay,       // AF_XDP: the Ethernet/IP/UDP around the message is malformed
  no_frame,           // AF_XDP: UMEM exhausted, no frame for a copy or reply
  count_
};
inline constexpr std::size_t kDropReasonCount = static_cast<std::size_t>(DropReason::count_);

std::string_view to_string(DropReason reason);

struct SwitchStats {
  std::uint64_t rx_packets = 0, rx_bytes = 0;  // every datagram received
  std::uint64_t tx_packets = 0, tx_bytes = 0;  // every datagram queued for sending
  std::uint64_t rx_frames = 0;                 // DATA frames accepted for switching
  std::uint64_t unicast = 0;                   // frames sent to one known port
  std::uint64_t flooded = 0;                   // frames flooded (broadcast/multicast/unknown)
  std::uint64_t flood_copies = 0;              // datagrams produced by flooding
  std::uint64_t filtered = 0;                  // destination is on the ingress port: not sent
  std::uint64_t learned = 0, moved = 0, aged = 0;
  std::uint64_t learn_refused_fdb_full = 0, learn_refused_port_limit = 0;
  std::uint64_t ports_joined = 0, ports_left = 0, ports_timed_out = 0;
  std::uint64_t control_replies_suppressed = 0;  // rate-limited BYE(unknown_session) replies
  std::array<std::uint64_t, kDropReasonCount> drops{};

  void drop(DropReason reason) noexcept { ++drops[static_cast<std::size_t>(reason)]; }
  std::uint64_t drops_total() const noexcept;
};

}  // namespace vswitch
