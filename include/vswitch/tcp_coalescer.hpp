// Userspace GRO for the TAP: merges consecutive segments of one TCP flow, received as separate
// tunnel datagrams, into one super-frame written with a virtio-net header, so the receiving
// kernel runs its stack once per ~64 KB instead of once per segment.
//
// Only what is provably safe is merged (the rules of the kernel's and wireguard-go's GRO):
// IPv4 without options or fragments, or IPv6 without extension headers; flags exactly ACK or
// ACK|PSH; same L2 header (MACs and tags), addresses, ports, ACK number, TCP options, ToS/TC,
// TTL/hop limit, DF; contiguous sequence numbers; no segment larger than the first, nothing
// after a shorter one or after PSH; IP length <= 65535. Every segment's TCP checksum is
// verified before it is merged: the kernel recomputes the checksum of a NEEDS_CSUM
// super-frame, so a corrupt segment merged in would otherwise look valid.
//
// Up to 16 flows are open for merging at once (a linear scan: cheaper than hashing at the
// flow counts of a TAP); beyond that the oldest stops merging, which is slower, never wrong.
// Everything else passes through unchanged, in order. A batch is finished when the caller has
// nothing more to read: there is no timer, so coalescing never adds latency.
// Output is iovecs for writev (vnet header, head frame, then payload slices of the others):
// nothing is copied. Pure and allocation-free after construction.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vswitch/virtio_net.hpp"

namespace vswitch {

struct CoalescerStats {
  std::uint64_t super_frames = 0;     // packets written that merged two or more segments
  std::uint64_t merged_segments = 0;  // segments inside those
  std::uint64_t bad_checksum = 0;     // candidates passed through unmerged (the kernel drops them)
};

class TcpCoalescer {
 public:
  static constexpr std::size_t kMaxSegmentsPerPacket = 64;

  // `max_frames`: frames one batch may hold before finish() must be called.
  explicit TcpCoalescer(std::size_t max_frames);

  bool full() const noexcept { return frames_used_ == frames_.size(); }
  // Adds one received frame. The frame's bytes must stay valid until the batch is cleared;
  // the first frame of a merge has its IP/TCP headers rewritten by finish(). Call only when
  // !full().
  void add(std::span<std::uint8_t> frame) noexcept;
  // Completes every merge and lays out the packets to write.
  void finish() noexcept;
  std::size_t packets() const noexcept { return packets_used_; }
  // Packet i as iovecs: the 10-byte virtio-net header first, then the frame's pieces.
  std::span<const iovec> packet(std::size_t i) const noexcept;
  // Forgets the batch (after the packets are written).
  void clear() noexcept;

  const CoalescerStats& stats() const noexcept { return stats_; }

 private:
  struct Frame {
    std::uint8_t* data;
    std::uint32_t size;
    std::int32_t next;  // next frame of the same packet, -1 at the end
  };
  struct Packet {
    std::int32_t first = -1, last = -1;
    std::uint32_t segments = 0;
    // Merge state, used while the packet is in open_: where the head's headers are and what
    // may follow.
    bool ipv6 = false, closed_by_short = false, psh = false;
    std::uint16_t l3 = 0, l4 = 0, tcp_header = 0;
    std::uint32_t next_seq = 0;
    std::uint32_t gso_size = 0;  // payload of the head segment
    std::uint32_t payload = 0;   // total payload
    std::uint8_t vnet[virtio_net::kHeaderSize] = {};
    std::uint32_t iov_first = 0, iov_count = 0;
  };
  struct Candidate;

  std::int32_t new_packet(std::int32_t frame) noexcept;
  bool can_append(const Packet& p, const Candidate& c) const noexcept;
  bool same_flow(const Packet& p, const Candidate& c, bool compare_ack) const noexcept;
  void close_flow(const Candidate& c) noexcept;
  void forget_open(std::size_t i) noexcept;
  void finish_merge(Packet& p) noexcept;

  std::vector<Frame> frames_;
  std::vector<Packet> packets_;
  std::vector<std::int32_t> open_;  // packets still accepting segments, oldest first
  std::vector<iovec> iovs_;
  std::size_t frames_used_ = 0, packets_used_ = 0, open_used_ = 0;
  CoalescerStats stats_;
};

}  // namespace vswitch
