// The Internet checksum (RFC 1071): one's-complement sums over byte spans, kept partial so
// that headers and payload slices can be summed separately and combined. Only the last span
// of a sum may have an odd length (a padding zero is implied after it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vswitch::checksum {

// Adds the 16-bit big-endian words of `bytes` to `sum`. The result stays below 2^17.
std::uint32_t add(std::uint32_t sum, std::span<const std::uint8_t> bytes) noexcept;

// Folds a partial sum to 16 bits (not complemented): what a NEEDS_CSUM field holds.
inline std::uint16_t fold(std::uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}
// The complemented fold: the value stored in a header's checksum field.
inline std::uint16_t finish(std::uint32_t sum) noexcept { return static_cast<std::uint16_t>(~fold(sum)); }

// The TCP/UDP pseudo-header: addresses (4 or 16 bytes each), protocol, transport length.
std::uint32_t pseudo_header(std::span<const std::uint8_t> src, std::span<const std::uint8_t> dst,
                            std::uint8_t protocol, std::size_t l4_length) noexcept;

}  // namespace vswitch::checksum
