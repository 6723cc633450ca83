#include "tap_to_server.hpp"

#include <unistd.h>

#include <cstring>

#include "vswitch/log.hpp"
#include "vswitch/protocol.hpp"

namespace vswitch {
namespace {

// A super-frame: vnet header + up to 64 KB of IP + Ethernet header and two tags.
constexpr std::size_t kSuperFrameBuffer = virtio_net::kHeaderSize + 65535 + 22;
// Segments one super-frame may become: 64 KB at an MSS of 536 is 123; more is refused.
constexpr std::size_t kMaxSegments = 160;
constexpr std::size_t kTxSlots = 1024;

}  // namespace

TapToServer::TapToServer(TapDevice& tap, std::size_t queue, const ClientOffloads& offloads, std::size_t max_frame)
    : fd_(tap.queue_fd(queue)),
      vnet_(tap.vnet_header()),
      reads_per_round_(tap.vnet_header() ? 8 : 64),
      buffer_size_(tap.vnet_header() ? kSuperFrameBuffer : max_frame),
      buffers_(reads_per_round_ * buffer_size_),
      segmenter_(kMaxSegments),
      tx_(kTxSlots) {
  tx_.set_one_by_one(!offloads.batching);
}

void TapToServer::flush(int socket) noexcept {
  if (tx_.empty()) return;
  const std::size_t refused = tx_.flush(socket);
  bump(stats_.send_errors, refused);
  if (refused != 0) VS_DEBUG("send to server refused %zu datagram(s): %s", refused, std::strerror(tx_.last_errno()));
}

void TapToServer::queue(int socket, std::span<const std::uint8_t> header, std::span<const std::uint8_t> payload,
                        std::uint32_t server_index, std::atomic<std::uint64_t>& counter) noexcept {
  std::uint8_t tunnel[protocol::kDataHeaderSize];
  protocol::encode_data_header({server_index, counter.fetch_add(1, std::memory_order_relaxed)}, tunnel);
  if (tx_.full()) flush(socket);
  tx_.add(nullptr, tunnel, header, payload);
}

std::size_t TapToServer::pump(int socket, std::uint32_t server_index, std::atomic<std::uint64_t>& counter) noexcept {
  std::size_t datagrams = 0;
  for (std::size_t reads = 0; reads < reads_per_round_; ++reads) {
    std::uint8_t* buf = &buffers_[reads * buffer_size_];
    const ssize_t n = ::read(fd_, buf, buffer_size_);
    if (n < 0) break;  // EAGAIN: drained
    bump(stats_.frames);
    const std::size_t skip = vnet_ ? virtio_net::kHeaderSize : 0;
    if (static_cast<std::size_t>(n) < skip + protocol::kEthernetHeaderSize) {
      bump(stats_.dropped_bad_vnet);
      continue;
    }
    if (socket < 0) {
      bump(stats_.dropped_not_joined);
      continue;
    }
    const std::span<std::uint8_t> frame(buf + skip, static_cast<std::size_t>(n) - skip);
    if (!vnet_) {
      queue(socket, {}, frame, server_index, counter);
      ++datagrams;
      continue;
    }
    const SplitError e = segmenter_.split(virtio_net::load({buf, virtio_net::kHeaderSize}), frame);
    if (e != SplitError::none) {
      bump(stats_.dropped_bad_vnet);
      VS_DEBUG("TAP frame of %zu bytes dropped: %s", frame.size(), to_string(e));
      continue;
    }
    const auto segments = segmenter_.segments();
    if (segments.size() > 1) bump(stats_.super_frames);
    // Payloads point into this read's buffer: keep the train whole in one flush.
    if (tx_.room() < segments.size()) flush(socket);
    for (const Segment& s : segments) queue(socket, s.headers, s.payload, server_index, counter);
    datagrams += segments.size();
  }
  bump(stats_.datagrams, datagrams);
  if (socket >= 0) flush(socket);
  return datagrams;
}

}  // namespace vswitch
