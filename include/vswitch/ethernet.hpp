// Read-only views of an Ethernet frame's header fields. The switch reads MACs only; VLAN tags
// and payload pass through untouched.
#pragma once

#include <cstdint>
#include <span>

#include "vswitch/mac_addr.hpp"

namespace vswitch::ethernet {

inline constexpr std::size_t kHeaderSize = 14;

// EtherTypes the parsers of overlay and underlay frames need.
inline constexpr std::uint16_t kTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kTypeIpv6 = 0x86dd;
inline constexpr std::uint16_t kTypeVlan = 0x8100;  // 802.1Q
inline constexpr std::uint16_t kTypeQinQ = 0x88a8;  // 802.1ad

// The caller guarantees frame.size() >= kHeaderSize.
inline MacAddr destination(std::span<const std::uint8_t> frame) noexcept {
  return MacAddr::from_bytes(frame.first(6));
}
inline MacAddr source(std::span<const std::uint8_t> frame) noexcept {
  return MacAddr::from_bytes(frame.subspan(6, 6));
}

}  // namespace vswitch::ethernet
