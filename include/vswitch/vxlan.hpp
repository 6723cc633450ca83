// VXLAN (RFC 7348) between servers, for EVPN (RFC 8365): an 8-byte header, then the Ethernet
// frame, plaintext, over UDP 4789. The header carries the I flag and the 24-bit VNI; every other
// bit is reserved. The servers' VXLAN is plaintext: carry it over IPsec or WireGuard between sites.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "vswitch/wire_abi.h"

namespace vswitch::vxlan {

inline constexpr std::uint16_t kPort = VSWITCH_VXLAN_PORT;
inline constexpr std::size_t kHeaderSize = VSWITCH_VXLAN_HEADER_SIZE;
inline constexpr std::uint8_t kFlagVni = VSWITCH_VXLAN_FLAG_VNI;  // I: the VNI is valid
inline constexpr std::uint32_t kMaxVni = 0xffffff;
// Over IPv4: outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8.
inline constexpr std::size_t kOverheadIpv4 = 50;

inline void encode(std::uint32_t vni, std::span<std::uint8_t, kHeaderSize> out) noexcept {
  out[0] = kFlagVni;
  out[1] = out[2] = out[3] = 0;
  out[4] = static_cast<std::uint8_t>(vni >> 16);
  out[5] = static_cast<std::uint8_t>(vni >> 8);
  out[6] = static_cast<std::uint8_t>(vni);
  out[7] = 0;
}

// The VNI of a VXLAN datagram that carries at least an Ethernet header, if its I flag is set.
// Reserved bits are ignored on receipt, as RFC 7348 asks.
inline std::optional<std::uint32_t> decode(std::span<const std::uint8_t> datagram) noexcept {
  if (datagram.size() < kHeaderSize + 14 || (datagram[0] & kFlagVni) == 0) return std::nullopt;
  return static_cast<std::uint32_t>(datagram[4]) << 16 | static_cast<std::uint32_t>(datagram[5]) << 8 | datagram[6];
}

}  // namespace vswitch::vxlan
