#include "vswitch/segmenter.hpp"

#include <cstring>

#include "vswitch/byte_order.hpp"
#include "vswitch/checksum.hpp"
#include "vswitch/inner_packet.hpp"

namespace vswitch {
namespace {

constexpr std::uint8_t kTcpFin = 0x01, kTcpPsh = 0x08, kTcpCwr = 0x80;

std::span<const std::uint8_t> source_address(std::span<const std::uint8_t> f, const inner::Layout& l) {
  return l.ipv6 ? f.subspan(l.l3 + 8, 16) : f.subspan(l.l3 + 12, 4);
}
std::span<const std::uint8_t> destination_address(std::span<const std::uint8_t> f, const inner::Layout& l) {
  return l.ipv6 ? f.subspan(l.l3 + 24, 16) : f.subspan(l.l3 + 16, 4);
}

}  // namespace

const char* to_string(SplitError e) noexcept {
  switch (e) {
    case SplitError::none: return "none";
    case SplitError::bad_vnet_header: return "bad_vnet_header";
    case SplitError::unsupported: return "unsupported";
    case SplitError::too_many_segments: return "too_many_segments";
  }
  return "?";
}

Segmenter::Segmenter(std::size_t max_segments)
    : headers_(max_segments * kMaxHeaderSize), segments_(max_segments) {}

SplitError Segmenter::split(const virtio_net::Header& vnet, std::span<std::uint8_t> frame) noexcept {
  count_ = 0;
  const std::uint8_t type = vnet.gso_type & static_cast<std::uint8_t>(~virtio_net::kGsoEcn);
  if (type == virtio_net::kGsoTcpV4 || type == virtio_net::kGsoTcpV6) return split_gso(vnet, frame, true);
  if (type == virtio_net::kGsoUdpL4) return split_gso(vnet, frame, false);
  if (type != virtio_net::kGsoNone) return SplitError::unsupported;
  if (segments_.empty()) return SplitError::too_many_segments;
  if ((vnet.flags & virtio_net::kFlagNeedsCsum) != 0) {
    // The field holds the pseudo-header sum: summing from csum_start over the rest finishes it.
    const std::size_t start = vnet.csum_start, field = start + vnet.csum_offset;
    if (vnet.csum_offset % 2 != 0 || field + 2 > frame.size()) return SplitError::bad_vnet_header;
    std::uint16_t c = checksum::finish(checksum::add(0, frame.subspan(start)));
    if (c == 0) c = 0xffff;  // as the kernel does: a UDP checksum of 0 would mean "none"
    store_be16(frame.subspan(field), c);
  }
  segments_[0] = {{}, frame};
  count_ = 1;
  return SplitError::none;
}

SplitError Segmenter::split_gso(const virtio_net::Header& vnet, std::span<std::uint8_t> frame, bool tcp) noexcept {
  inner::Layout l;
  if ((vnet.flags & virtio_net::kFlagNeedsCsum) == 0 || vnet.gso_size == 0 ||
      vnet.csum_offset != (tcp ? 16 : 6) || !inner::parse(frame, l))
    return SplitError::bad_vnet_header;
  if (l.fragment) return SplitError::unsupported;
  const bool want_v6 = tcp ? (vnet.gso_type & 0x7f) == virtio_net::kGsoTcpV6 : l.ipv6;
  if (l.protocol != (tcp ? inner::kProtoTcp : inner::kProtoUdp) || l.ipv6 != want_v6 || l.l4 != vnet.csum_start)
    return SplitError::bad_vnet_header;
  std::size_t l4_header = 8;
  if (tcp) {
    if (l.l4 + 20 > l.ip_end) return SplitError::bad_vnet_header;
    l4_header = static_cast<std::size_t>(frame[l.l4 + 12] >> 4) * 4;
    if (l4_header < 20) return SplitError::bad_vnet_header;
  }
  const std::size_t header_size = l.l4 + l4_header;
  if (header_size > l.ip_end || header_size > kMaxHeaderSize) return SplitError::bad_vnet_header;
  const std::size_t payload = l.ip_end - header_size;
  const std::size_t mss = vnet.gso_size;
  const std::size_t count = payload == 0 ? 1 : (payload + mss - 1) / mss;
  if (count > segments_.size()) return SplitError::too_many_segments;

  const auto src = source_address(frame, l), dst = destination_address(frame, l);
  const std::uint16_t ip_id = l.ipv6 ? 0 : load_be16(frame.subspan(l.l3 + 4));
  const std::uint32_t seq = tcp ? load_be32(frame.subspan(l.l4 + 4)) : 0;
  const std::uint8_t tcp_flags = tcp ? frame[l.l4 + 13] : 0;
  const std::size_t ihl = l.l4 - l.l3;  // IPv4 header or IPv6 header + extensions
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t off = i * mss;
    const std::size_t len = payload - off < mss ? payload - off : mss;
    const std::span<std::uint8_t> h(&headers_[i * kMaxHeaderSize], header_size);
    std::memcpy(h.data(), frame.data(), header_size);
    const auto ip = h.subspan(l.l3);
    if (l.ipv6) {
      store_be16(ip.subspan(4), static_cast<std::uint16_t>(ihl - 40 + l4_header + len));
    } else {
      // IDs increase per segment, as hardware TSO does.
      store_be16(ip.subspan(2), static_cast<std::uint16_t>(ihl + l4_header + len));
      store_be16(ip.subspan(4), static_cast<std::uint16_t>(ip_id + i));
      store_be16(ip.subspan(10), 0);
      store_be16(ip.subspan(10), checksum::finish(checksum::add(0, ip.first(ihl))));
    }
    const auto l4 = h.subspan(l.l4);
    const auto slice = std::span<const std::uint8_t>(frame).subspan(header_size + off, len);
    if (tcp) {
      store_be32(l4.subspan(4), static_cast<std::uint32_t>(seq + off));
      std::uint8_t flags = tcp_flags;
      if (i + 1 < count) flags = static_cast<std::uint8_t>(flags & ~(kTcpFin | kTcpPsh));
      if (i > 0) flags = static_cast<std::uint8_t>(flags & ~kTcpCwr);
      l4[13] = flags;
      store_be16(l4.subspan(16), 0);
    } else {
      store_be16(l4.subspan(4), static_cast<std::uint16_t>(8 + len));
      store_be16(l4.subspan(6), 0);
    }
    std::uint32_t sum = checksum::pseudo_header(src, dst, l.protocol, l4_header + len);
    sum = checksum::add(sum, l4.first(l4_header));
    std::uint16_t c = checksum::finish(checksum::add(sum, slice));
    if (!tcp && c == 0) c = 0xffff;
    store_be16(l4.subspan(tcp ? 16 : 6), c);
    segments_[i] = {h, slice};
  }
  count_ = count;
  return SplitError::none;
}

}  // namespace vswitch
