#include "vswitch/inner_packet.hpp"

#include "vswitch/byte_order.hpp"
#include "vswitch/ethernet.hpp"

namespace vswitch::inner {
namespace {

bool is_ipv6_extension(std::uint8_t next) noexcept {
  return next == 0 || next == 43 || next == 60;  // hop-by-hop, routing, destination options
}

}  // namespace

bool parse(std::span<const std::uint8_t> frame, Layout& out) noexcept {
  std::size_t off = 12;
  if (frame.size() < off + 2) return false;
  std::uint16_t type = load_be16(frame.subspan(off));
  off += 2;
  for (int tags = 0; tags < 2 && (type == ethernet::kTypeVlan || type == ethernet::kTypeQinQ); ++tags) {
    if (frame.size() < off + 4) return false;
    type = load_be16(frame.subspan(off + 2));
    off += 4;
  }
  out = Layout{};
  out.l3 = off;
  if (type == ethernet::kTypeIpv4) {
    if (frame.size() < off + 20 || (frame[off] >> 4) != 4) return false;
    const std::size_t ihl = static_cast<std::size_t>(frame[off] & 0x0f) * 4;
    const std::size_t total = load_be16(frame.subspan(off + 2));
    if (ihl < 20 || total < ihl || off + total > frame.size()) return false;
    out.l4 = off + ihl;
    out.ip_end = off + total;
    out.protocol = frame[off + 9];
    out.ip_options = ihl > 20;
    out.fragment = (load_be16(frame.subspan(off + 6)) & 0x3fff) != 0;
    return true;
  }
  if (type == ethernet::kTypeIpv6) {
    if (frame.size() < off + 40 || (frame[off] >> 4) != 6) return false;
    out.ipv6 = true;
    out.ip_end = off + 40 + load_be16(frame.subspan(off + 4));
    if (out.ip_end > frame.size()) return false;
    std::uint8_t next = frame[off + 6];
    std::size_t at = off + 40;
    while (is_ipv6_extension(next) || next == 44) {
      out.ip_options = true;
      if (at + 8 > out.ip_end) return false;
      if (next == 44) {
        out.fragment = true;
        next = frame[at];
        at += 8;
        continue;
      }
      next = frame[at];
      at += (static_cast<std::size_t>(frame[at + 1]) + 1) * 8;
    }
    if (at > out.ip_end) return false;
    out.l4 = at;
    out.protocol = next;
    return true;
  }
  return false;
}

}  // namespace vswitch::inner
