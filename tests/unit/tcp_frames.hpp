// Builders for overlay test frames (Ethernet [+ tags] / IPv4 or IPv6 / TCP or UDP) and a naive
// reference checksum, shared by the segmenter and coalescer tests and the fuzz target.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace vswitch::testing {

struct FrameSpec {
  bool ipv6 = false;
  int tags = 0;              // 0, 1 (802.1Q) or 2 (QinQ)
  bool udp = false;
  std::size_t payload = 1000;
  std::uint32_t seq = 1000, ack = 7;
  std::uint8_t flags = 0x18;  // ACK|PSH
  std::uint8_t tos = 0, ttl = 64;
  bool df = true;
  std::uint16_t ip_id = 100;
  std::size_t ip_options = 0;    // IPv4: bytes of options (multiple of 4), NOPs
  std::size_t tcp_options = 12;  // NOP NOP timestamp
  bool ipv6_hop_by_hop = false;  // one 8-byte extension header
  std::uint8_t src_last = 1;     // varies the flow
  std::uint32_t payload_seed = 1;
};

// Naive RFC 1071: 16-bit words one at a time, folded at the end.
inline std::uint16_t reference_sum(std::span<const std::uint8_t> b, std::uint32_t start = 0) {
  std::uint64_t s = start;
  for (std::size_t i = 0; i < b.size(); i += 2)
    s += static_cast<std::uint64_t>(b[i]) << 8 | (i + 1 < b.size() ? b[i + 1] : 0);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint16_t>(s);
}

struct Built {
  std::vector<std::uint8_t> frame;
  std::size_t l3 = 0, l4 = 0, header_size = 0;
};

inline void put16(std::vector<std::uint8_t>& f, std::size_t at, std::uint16_t v) {
  f[at] = static_cast<std::uint8_t>(v >> 8);
  f[at + 1] = static_cast<std::uint8_t>(v);
}
inline void put32(std::vector<std::uint8_t>& f, std::size_t at, std::uint32_t v) {
  put16(f, at, static_cast<std::uint16_t>(v >> 16));
  put16(f, at + 2, static_cast<std::uint16_t>(v));
}

// The pseudo-header sum (not complemented) of a built frame over `l4_length` bytes.
inline std::uint32_t pseudo_sum(const Built& b, std::size_t l4_length, std::uint8_t proto) {
  const auto f = std::span<const std::uint8_t>(b.frame);
  const bool v6 = (f[b.l3] >> 4) == 6;
  std::uint32_t s = v6 ? reference_sum(f.subspan(b.l3 + 8, 32)) : reference_sum(f.subspan(b.l3 + 12, 8));
  return s + proto + static_cast<std::uint32_t>(l4_length);
}

// Fixes every length and computes every checksum completely.
inline void finalize(Built& b, bool udp) {
  auto& f = b.frame;
  const std::size_t l4_length = f.size() - b.l4;
  if ((f[b.l3] >> 4) == 6) {
    put16(f, b.l3 + 4, static_cast<std::uint16_t>(f.size() - b.l3 - 40));
  } else {
    put16(f, b.l3 + 2, static_cast<std::uint16_t>(f.size() - b.l3));
    put16(f, b.l3 + 10, 0);
    put16(f, b.l3 + 10, static_cast<std::uint16_t>(~reference_sum({&f[b.l3], b.l4 - b.l3})));
  }
  const std::size_t field = b.l4 + (udp ? 6 : 16);
  if (udp) put16(f, b.l4 + 4, static_cast<std::uint16_t>(l4_length));
  put16(f, field, 0);
  std::uint16_t c = static_cast<std::uint16_t>(
      ~reference_sum({&f[b.l4], l4_length}, pseudo_sum(b, l4_length, udp ? 17 : 6)));
  if (udp && c == 0) c = 0xffff;
  put16(f, field, c);
}

inline Built build_frame(const FrameSpec& s) {
  Built b;
  auto& f = b.frame;
  f = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, s.src_last};
  for (int t = 0; t < s.tags; ++t) {
    f.push_back(t == 0 && s.tags == 2 ? 0x88 : 0x81);
    f.push_back(t == 0 && s.tags == 2 ? 0xa8 : 0x00);
    f.push_back(0);
    f.push_back(static_cast<std::uint8_t>(10 + t));
  }
  f.push_back(s.ipv6 ? 0x86 : 0x08);
  f.push_back(s.ipv6 ? 0xdd : 0x00);
  b.l3 = f.size();
  const std::uint8_t proto = s.udp ? 17 : 6;
  if (s.ipv6) {
    f.insert(f.end(), 40, 0);
    f[b.l3] = static_cast<std::uint8_t>(0x60 | s.tos >> 4);
    f[b.l3 + 1] = static_cast<std::uint8_t>(s.tos << 4);
    f[b.l3 + 6] = s.ipv6_hop_by_hop ? 0 : proto;
    f[b.l3 + 7] = s.ttl;
    f[b.l3 + 8] = 0xfd;  // fd00::1 -> fd00::2 style
    f[b.l3 + 23] = s.src_last;
    f[b.l3 + 24] = 0xfd;
    f[b.l3 + 39] = 2;
    if (s.ipv6_hop_by_hop) {
      const std::uint8_t ext[8] = {proto, 0, 1, 4, 0, 0, 0, 0};  // PadN option
      f.insert(f.end(), ext, ext + 8);
    }
  } else {
    f.insert(f.end(), 20 + s.ip_options, 0);
    f[b.l3] = static_cast<std::uint8_t>(0x40 | (20 + s.ip_options) / 4);
    f[b.l3 + 1] = s.tos;
    put16(f, b.l3 + 4, s.ip_id);
    put16(f, b.l3 + 6, s.df ? 0x4000 : 0);
    f[b.l3 + 8] = s.ttl;
    f[b.l3 + 9] = proto;
    put32(f, b.l3 + 12, 0xc6130000u | s.src_last);  // 198.19.0.x
    put32(f, b.l3 + 16, 0xc6130002u);
    for (std::size_t i = 0; i < s.ip_options; ++i) f[b.l3 + 20 + i] = 1;  // NOP
  }
  b.l4 = f.size();
  if (s.udp) {
    f.insert(f.end(), 8, 0);
    put16(f, b.l4, 5000);
    put16(f, b.l4 + 2, 5001);
  } else {
    f.insert(f.end(), 20 + s.tcp_options, 0);
    put16(f, b.l4, 40000);
    put16(f, b.l4 + 2, 5201);
    put32(f, b.l4 + 4, s.seq);
    put32(f, b.l4 + 8, s.ack);
    f[b.l4 + 12] = static_cast<std::uint8_t>((20 + s.tcp_options) / 4 << 4);
    f[b.l4 + 13] = s.flags;
    put16(f, b.l4 + 14, 512);
    for (std::size_t i = 0; i < s.tcp_options; ++i) f[b.l4 + 20 + i] = i < 2 ? 1 : static_cast<std::uint8_t>(i);
  }
  b.header_size = f.size();
  std::uint32_t x = s.payload_seed * 2654435761u + 1;
  for (std::size_t i = 0; i < s.payload; ++i) {
    x = x * 1664525u + 1013904223u;
    f.push_back(static_cast<std::uint8_t>(x >> 24));
  }
  finalize(b, s.udp);
  return b;
}

// What a TAP with TUNSETOFFLOAD hands over for a super-frame: lengths set, transport checksum
// field holding only the pseudo-header sum.
inline void make_partial(Built& b, bool udp) {
  const std::size_t l4_length = b.frame.size() - b.l4;
  const std::size_t field = b.l4 + (udp ? 6 : 16);
  put16(b.frame, field, reference_sum({}, pseudo_sum(b, l4_length, udp ? 17 : 6)));
}

}  // namespace vswitch::testing
