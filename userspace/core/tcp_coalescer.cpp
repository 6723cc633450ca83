#include "vswitch/tcp_coalescer.hpp"

#include <cstring>

#include "vswitch/byte_order.hpp"
#include "vswitch/checksum.hpp"
#include "vswitch/inner_packet.hpp"

namespace vswitch {
namespace {

constexpr std::uint8_t kTcpPsh = 0x08, kTcpAck = 0x10;
constexpr std::size_t kMaxOpenFlows = 16;

}  // namespace

// One TCP segment as add() sees it.
struct TcpCoalescer::Candidate {
  const std::uint8_t* data = nullptr;
  std::size_t l3 = 0, l4 = 0, tcp_header = 0, payload = 0;
  std::uint32_t seq = 0;
  bool ipv6 = false;
};

TcpCoalescer::TcpCoalescer(std::size_t max_frames)
    : frames_(max_frames), packets_(max_frames), open_(kMaxOpenFlows), iovs_(2 * max_frames) {}

void TcpCoalescer::clear() noexcept { frames_used_ = packets_used_ = open_used_ = 0; }

std::int32_t TcpCoalescer::new_packet(std::int32_t frame) noexcept {
  const auto index = static_cast<std::int32_t>(packets_used_++);
  Packet& p = packets_[static_cast<std::size_t>(index)];
  p = Packet{};
  p.first = p.last = frame;
  p.segments = 1;
  return index;
}

bool TcpCoalescer::same_flow(const Packet& p, const Candidate& c, bool compare_ack) const noexcept {
  const std::uint8_t* head = frames_[static_cast<std::size_t>(p.first)].data;
  if (p.l3 != c.l3 || p.ipv6 != c.ipv6 || std::memcmp(head, c.data, c.l3) != 0) return false;
  const std::size_t addr_at = c.ipv6 ? 8 : 12, addr_size = c.ipv6 ? 32 : 8;
  if (std::memcmp(head + p.l3 + addr_at, c.data + c.l3 + addr_at, addr_size) != 0) return false;
  if (std::memcmp(head + p.l4, c.data + c.l4, 4) != 0) return false;  // ports
  return !compare_ack || std::memcmp(head + p.l4 + 8, c.data + c.l4 + 8, 4) == 0;
}

bool TcpCoalescer::can_append(const Packet& p, const Candidate& c) const noexcept {
  const std::uint8_t* head = frames_[static_cast<std::size_t>(p.first)].data;
  if (p.closed_by_short || p.psh || p.segments >= kMaxSegmentsPerPacket) return false;
  if (c.seq != p.next_seq || c.payload > p.gso_size || c.tcp_header != p.tcp_header) return false;
  if (std::memcmp(head + p.l4 + 20, c.data + c.l4 + 20, c.tcp_header - 20) != 0) return false;  // options
  const std::uint8_t* a = head + p.l3;
  const std::uint8_t* b = c.data + c.l3;
  if (c.ipv6) {
    // Version, traffic class (ECN marks included) and flow label; hop limit.
    if (std::memcmp(a, b, 4) != 0 || a[7] != b[7]) return false;
  } else if (a[1] != b[1] || a[8] != b[8] || (a[6] & 0x40) != (b[6] & 0x40)) {  // ToS, TTL, DF
    return false;
  }
  const std::size_t ip_length = (c.ipv6 ? 0 : p.l4 - p.l3) + p.tcp_header + p.payload + c.payload;
  return ip_length <= 0xffff;
}

void TcpCoalescer::forget_open(std::size_t i) noexcept {
  std::memmove(&open_[i], &open_[i + 1], (open_used_ - i - 1) * sizeof open_[0]);  // keeps the age order
  --open_used_;
}

void TcpCoalescer::close_flow(const Candidate& c) noexcept {
  for (std::size_t i = open_used_; i-- > 0;)
    if (same_flow(packets_[static_cast<std::size_t>(open_[i])], c, false)) forget_open(i);
}

void TcpCoalescer::add(std::span<std::uint8_t> frame) noexcept {
  const auto frame_index = static_cast<std::int32_t>(frames_used_++);
  frames_[static_cast<std::size_t>(frame_index)] = {frame.data(), static_cast<std::uint32_t>(frame.size()), -1};

  inner::Layout l;
  if (!inner::parse(frame, l) || l.protocol != inner::kProtoTcp || l.fragment || l.l4 + 20 > l.ip_end) {
    new_packet(frame_index);
    return;
  }
  Candidate c;
  c.data = frame.data();
  c.l3 = l.l3;
  c.l4 = l.l4;
  c.ipv6 = l.ipv6;
  c.tcp_header = static_cast<std::size_t>(frame[l.l4 + 12] >> 4) * 4;
  if (c.tcp_header < 20 || l.l4 + c.tcp_header > l.ip_end) {
    new_packet(frame_index);
    return;
  }
  c.payload = l.ip_end - l.l4 - c.tcp_header;
  c.seq = load_be32(frame.subspan(l.l4 + 4));
  const std::uint8_t flags = frame[l.l4 + 13];
  const bool candidate = !l.ip_options && l.ip_end == frame.size() && c.payload > 0 &&
                         (flags == kTcpAck || flags == (kTcpAck | kTcpPsh));
  bool verified = false;
  if (candidate) {
    const auto src = l.ipv6 ? frame.subspan(l.l3 + 8, 16) : frame.subspan(l.l3 + 12, 4);
    const auto dst = l.ipv6 ? frame.subspan(l.l3 + 24, 16) : frame.subspan(l.l3 + 16, 4);
    const std::uint32_t sum = checksum::pseudo_header(src, dst, inner::kProtoTcp, l.ip_end - l.l4);
    verified = checksum::finish(checksum::add(sum, frame.subspan(l.l4, l.ip_end - l.l4))) == 0;
    if (!verified) ++stats_.bad_checksum;
  }
  if (!verified) {
    // A FIN, RST, bare ACK or bad segment ends the flow's merge, so nothing of that flow that
    // comes later can be merged ahead of it.
    close_flow(c);
    new_packet(frame_index);
    return;
  }

  for (std::size_t i = open_used_; i-- > 0;) {
    Packet& p = packets_[static_cast<std::size_t>(open_[i])];
    if (!same_flow(p, c, true)) continue;
    if (can_append(p, c)) {
      Frame& f = frames_[static_cast<std::size_t>(frame_index)];
      f.data += c.l4 + c.tcp_header;  // only the payload is written after the head's headers
      f.size = static_cast<std::uint32_t>(c.payload);
      frames_[static_cast<std::size_t>(p.last)].next = frame_index;
      p.last = frame_index;
      ++p.segments;
      p.next_seq += static_cast<std::uint32_t>(c.payload);
      p.payload += static_cast<std::uint32_t>(c.payload);
      p.closed_by_short = c.payload < p.gso_size;
      p.psh = (flags & kTcpPsh) != 0;
      return;
    }
    forget_open(i);
    break;
  }
  const std::int32_t index = new_packet(frame_index);
  Packet& p = packets_[static_cast<std::size_t>(index)];
  p.ipv6 = c.ipv6;
  p.l3 = static_cast<std::uint16_t>(c.l3);
  p.l4 = static_cast<std::uint16_t>(c.l4);
  p.tcp_header = static_cast<std::uint16_t>(c.tcp_header);
  p.next_seq = c.seq + static_cast<std::uint32_t>(c.payload);
  p.gso_size = p.payload = static_cast<std::uint32_t>(c.payload);
  p.psh = (flags & kTcpPsh) != 0;
  virtio_net::store({virtio_net::kFlagDataValid, virtio_net::kGsoNone, 0, 0, 0, 0}, p.vnet);
  if (open_used_ == open_.size()) forget_open(0);  // the oldest flow just stops merging
  open_[open_used_++] = index;
}

void TcpCoalescer::finish_merge(Packet& p) noexcept {
  std::uint8_t* head = frames_[static_cast<std::size_t>(p.first)].data;
  const std::span<std::uint8_t> ip(head + p.l3, p.l4 - p.l3);
  const std::size_t l4_length = p.tcp_header + std::size_t{p.payload};
  if (p.ipv6) {
    store_be16(ip.subspan(4), static_cast<std::uint16_t>(l4_length));
  } else {
    store_be16(ip.subspan(2), static_cast<std::uint16_t>(ip.size() + l4_length));
    store_be16(ip.subspan(10), 0);
    store_be16(ip.subspan(10), checksum::finish(checksum::add(0, ip)));
  }
  const std::span<std::uint8_t> tcp(head + p.l4, p.tcp_header);
  if (p.psh) tcp[13] = static_cast<std::uint8_t>(tcp[13] | kTcpPsh);
  // NEEDS_CSUM: the field holds the pseudo-header sum only, the kernel adds the rest.
  const auto src = p.ipv6 ? ip.subspan(8, 16) : ip.subspan(12, 4);
  const auto dst = p.ipv6 ? ip.subspan(24, 16) : ip.subspan(16, 4);
  store_be16(tcp.subspan(16), checksum::fold(checksum::pseudo_header(src, dst, inner::kProtoTcp, l4_length)));
  const virtio_net::Header h{virtio_net::kFlagNeedsCsum,
                             p.ipv6 ? virtio_net::kGsoTcpV6 : virtio_net::kGsoTcpV4,
                             static_cast<std::uint16_t>(p.l4 + p.tcp_header),
                             static_cast<std::uint16_t>(p.gso_size),
                             p.l4,
                             16};
  virtio_net::store(h, p.vnet);
  ++stats_.super_frames;
  stats_.merged_segments += p.segments;
}

void TcpCoalescer::finish() noexcept {
  std::size_t iov = 0;
  for (std::size_t i = 0; i < packets_used_; ++i) {
    Packet& p = packets_[i];
    if (p.segments > 1) finish_merge(p);
    p.iov_first = static_cast<std::uint32_t>(iov);
    iovs_[iov++] = {p.vnet, virtio_net::kHeaderSize};
    for (std::int32_t f = p.first; f >= 0; f = frames_[static_cast<std::size_t>(f)].next)
      iovs_[iov++] = {frames_[static_cast<std::size_t>(f)].data, frames_[static_cast<std::size_t>(f)].size};
    p.iov_count = static_cast<std::uint32_t>(iov) - p.iov_first;
  }
  open_used_ = 0;
}

std::span<const iovec> TcpCoalescer::packet(std::size_t i) const noexcept {
  return {&iovs_[packets_[i].iov_first], packets_[i].iov_count};
}

}  // namespace vswitch
