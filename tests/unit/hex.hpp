// Hex helpers for known-answer tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vswitch::test {

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoul(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

template <class Bytes>
std::string to_hex(const Bytes& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (const auto b : bytes) {
    out += digits[static_cast<std::uint8_t>(b) >> 4];
    out += digits[static_cast<std::uint8_t>(b) & 15];
  }
  return out;
}

}  // namespace vswitch::test
