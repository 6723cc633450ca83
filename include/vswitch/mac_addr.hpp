// An Ethernet MAC address as a 6-byte value type, plus the bit tests the switch needs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vswitch {

class MacAddr {
 public:
  constexpr MacAddr() = default;
  constexpr explicit MacAddr(const std::array<std::uint8_t, 6>& bytes) : bytes_(bytes) {}

  // Reads 6 bytes; the caller guarantees the span holds at least 6.
  static MacAddr from_bytes(std::span<const std::uint8_t> bytes) noexcept {
    return MacAddr({bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]});
  }
  // "aa:bb:cc:dd:ee:ff" (case-insensitive, ':' or '-').
  static std::optional<MacAddr> parse(std::string_view text);

  const std::array<std::uint8_t, 6>& bytes() const noexcept { return bytes_; }
  // 48-bit integer form: compact hash key and cheap comparisons. Inline: on the per-frame path.
  std::uint64_t to_u64() const noexcept {
    return std::uint64_t{bytes_[0]} << 40 | std::uint64_t{bytes_[1]} << 32 | std::uint64_t{bytes_[2]} << 24 |
           std::uint64_t{bytes_[3]} << 16 | std::uint64_t{bytes_[4]} << 8 | bytes_[5];
  }
  static MacAddr from_u64(std::uint64_t v) noexcept {
    return MacAddr({static_cast<std::uint8_t>(v >> 40), static_cast<std::uint8_t>(v >> 32),
                    static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                    static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)});
  }

  // Group bit (I/G): set for broadcast and every multicast address.
  bool is_multicast() const noexcept { return (bytes_[0] & 0x01) != 0; }
  bool is_broadcast() const noexcept { return to_u64() == 0xffffffffffffULL; }
  bool is_zero() const noexcept { return to_u64() == 0; }
  // A frame's source must be a single station: not group, not all-zero.
  bool is_valid_source() const noexcept { return !is_multicast() && !is_zero(); }

  std::string to_string() const;

  friend bool operator==(const MacAddr&, const MacAddr&) = default;

 private:
  std::array<std::uint8_t, 6> bytes_{};
};

}  // namespace vswitch
