// Read-only views of an Ethernet frame's header fields. The switch reads MACs only; VLAN tags
// and payload pass through untouched.
#pragma once

#include <cstdint>
#include <span>

#include "vswitch/mac_addr.hpp"

namespace vswitch::ethernet {

inline constexpr std::size_t kHeaderSize = 14;

// The caller guarantees frame.size() >= kHeaderSize.
inline MacAddr destination(std::span<const std::uint8_t> frame) noexcept {
  return MacAddr::from_bytes(frame.first(6));
}
inline MacAddr source(std::span<const std::uint8_t> frame) noexcept {
  return MacAddr::from_bytes(frame.subspan(6, 6));
}

}  // namespace vswitch::ethernet
