#include "vswitch/checksum.hpp"

#include <cstring>

namespace vswitch::checksum {

// Sums 64-bit little-endian loads with end-around carry, then swaps the folded result: the
// one's-complement sum does not depend on byte order (RFC 1071 §2(B)), and this reads eight
// bytes per step instead of two, which matters for 64 KB super-frames.
std::uint32_t add(std::uint32_t sum, std::span<const std::uint8_t> bytes) noexcept {
  const std::uint8_t* p = bytes.data();
  std::size_t n = bytes.size();
  std::uint64_t acc = 0;
  auto add64 = [&acc](std::uint64_t v) {
    acc += v;
    acc += acc < v ? 1 : 0;
  };
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    add64(v);
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, p, n);  // the odd last byte lands in the low half of its word: padded
  add64(tail);
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
