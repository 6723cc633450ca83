// Where the IP and transport headers sit inside an overlay Ethernet frame: the parse shared by
// the TSO segmenter and the TCP coalescer. Up to two VLAN tags (802.1Q / QinQ), IPv4 with or
// without options, IPv6 with the common extension headers walked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vswitch::inner {

inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;

struct Layout {
  std::size_t l3 = 0;      // IP header offset (after MACs and tags)
  std::size_t l4 = 0;      // transport header offset
  std::size_t ip_end = 0;  // end of the IP packet by its own length field (padding excluded)
  std::uint8_t protocol = 0;
  bool ipv6 = false;
  bool ip_options = false;  // IPv4 IHL > 5, or IPv6 extension headers
  bool fragment = false;
};

// False when the frame is not IP, is truncated, or its IP length disagrees with the frame.
bool parse(std::span<const std::uint8_t> frame, Layout& out) noexcept;

}  // namespace vswitch::inner
