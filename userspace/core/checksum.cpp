#include "vswitch/checksum.hpp"

#include <cstring>

namespace vswitch::checksum {

// Adds 32-bit little-endian words into four 64-bit accumulators (no carries to handle: the
// sums cannot overflow below 2^32 words), then folds and swaps: the one's-complement sum does
// not depend on byte order (RFC 1071 §2(B)). About 2x a 64-bit add-with-carry loop here,
// which matters because every byte of a 64 KB super-frame is summed on both clients.
std::uint32_t add(std::uint32_t sum, std::span<const std::uint8_t> bytes) noexcept {
  const std::uint8_t* p = bytes.data();
  std::size_t n = bytes.size();
  std::uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (; n >= 32; p += 32, n -= 32) {
    std::uint32_t w[8];
    std::memcpy(w, p, sizeof w);
    a0 += w[0];
    a1 += w[1];
    a2 += w[2];
    a3 += w[3];
    a0 += w[4];
    a1 += w[5];
    a2 += w[6];
    a3 += w[7];
  }
  for (; n >= 4; p += 4, n -= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    a0 += w;
  }
  std::uint32_t tail = 0;
  std::memcpy(&tail, p, n);  // the odd last byte lands in the low half of its word: padded
  std::uint64_t acc = a0 + a1 + a2 + a3 + tail;
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffffffff) + (acc >> 32);
  std::uint32_t le = static_cast<std::uint32_t>(acc);
  le = (le & 0xffff) + (le >> 16);
  le = (le & 0xffff) + (le >> 16);
  const auto be = static_cast<std::uint32_t>(((le & 0xff) << 8) | (le >> 8));
  const std::uint32_t total = sum + be;
  return (total & 0xffff) + (total >> 16);
}

std::uint32_t pseudo_header(std::span<const std::uint8_t> src, std::span<const std::uint8_t> dst,
                            std::uint8_t protocol, std::size_t l4_length) noexcept {
  std::uint32_t sum = add(add(0, src), dst);
  sum += protocol;
  sum += static_cast<std::uint32_t>(l4_length >> 16) + static_cast<std::uint32_t>(l4_length & 0xffff);
  return sum;
}

}  // namespace vswitch::checksum
