// The virtio-net header a TAP device with IFF_VNET_HDR puts before every frame (and expects
// before every frame written to it). It tells whether the frame is a GSO super-frame and
// whether its transport checksum is still to be finished (NEEDS_CSUM, the virtio form of
// CHECKSUM_PARTIAL: the field then holds only the pseudo-header sum).
// Fields are little-endian on the wire: the legacy layout the kernel uses on x86 and arm64.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

namespace vswitch::virtio_net {

inline constexpr std::size_t kHeaderSize = 10;

inline constexpr std::uint8_t kFlagNeedsCsum = 1;
inline constexpr std::uint8_t kFlagDataValid = 2;

inline constexpr std::uint8_t kGsoNone = 0;
inline constexpr std::uint8_t kGsoTcpV4 = 1;
inline constexpr std::uint8_t kGsoTcpV6 = 4;
inline constexpr std::uint8_t kGsoUdpL4 = 5;  // USO (6.2+); Debian's 6.1 headers lack it
inline constexpr std::uint8_t kGsoEcn = 0x80;

// TUNSETOFFLOAD bits missing from older headers.
inline constexpr unsigned kTunFUso4 = 0x20;
inline constexpr unsigned kTunFUso6 = 0x40;

struct Header {
  std::uint8_t flags = 0;
  std::uint8_t gso_type = kGsoNone;
  std::uint16_t hdr_len = 0;      // headers to copy into each segment (a hint: never trusted)
  std::uint16_t gso_size = 0;     // transport payload per segment
  std::uint16_t csum_start = 0;   // from the Ethernet header, tags included
  std::uint16_t csum_offset = 0;  // from csum_start to the checksum field

  friend bool operator==(const Header&, const Header&) = default;
};

inline Header load(std::span<const std::uint8_t> p) noexcept {
  auto u16 = [&](std::size_t at) { return static_cast<std::uint16_t>(p[at] | p[at + 1] << 8); };
  return {p[0], p[1], u16(2), u16(4), u16(6), u16(8)};
}

inline void store(const Header& h, std::span<std::uint8_t> p) noexcept {
  auto u16 = [&](std::size_t at, std::uint16_t v) {
    p[at] = static_cast<std::uint8_t>(v);
    p[at + 1] = static_cast<std::uint8_t>(v >> 8);
  };
  p[0] = h.flags;
  p[1] = h.gso_type;
  u16(2, h.hdr_len);
  u16(4, h.gso_size);
  u16(6, h.csum_start);
  u16(8, h.csum_offset);
}

}  // namespace vswitch::virtio_net
