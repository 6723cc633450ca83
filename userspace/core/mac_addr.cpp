#include "vswitch/mac_addr.hpp"

#include <cstdio>

namespace vswitch {

MacAddr MacAddr::from_bytes(std::span<const std::uint8_t> bytes) noexcept {
  std::array<std::uint8_t, 6> raw{};
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = bytes[i];
  return MacAddr(raw);
}

std::optional<MacAddr> MacAddr::parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  std::array<std::uint8_t, 6> raw{};
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < 6; ++i) {
    const int hi = hex(text[i * 3]);
    const int lo = hex(text[i * 3 + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (i < 5 && text[i * 3 + 2] != ':' && text[i * 3 + 2] != '-') return std::nullopt;
    raw[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return MacAddr(raw);
}

std::uint64_t MacAddr::to_u64() const noexcept {
  std::uint64_t v = 0;
  for (auto b : bytes_) v = v << 8 | b;
  return v;
}

MacAddr MacAddr::from_u64(std::uint64_t value) noexcept {
  std::array<std::uint8_t, 6> raw{};
  for (int i = 5; i >= 0; --i) {
    raw[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
  return MacAddr(raw);
}

std::string MacAddr::to_string() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes_[0], bytes_[1], bytes_[2],
                bytes_[3], bytes_[4], bytes_[5]);
  return buf;
}

}  // namespace vswitch
