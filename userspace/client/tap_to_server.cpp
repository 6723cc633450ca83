#include "tap_to_server.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "vswitch/log.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/protocol_v2.hpp"

namespace vswitch {
namespace {

// A super-frame: vnet header + up to 64 KB of IP + Ethernet header and two tags.
constexpr std::size_t kSuperFrameBuffer = virtio_net::kHeaderSize + 65535 + 22;
// Segments one super-frame may become: 64 KB at an MSS of 536 is 123; more is refused.
constexpr std::size_t kMaxSegments = 160;
constexpr std::size_t kTxSlots = 1024;

}  // namespace

TapToServer::TapToServer(TapDevice& tap, std::size_t queue, const ClientOffloads& offloads, std::size_t max_frame,
                         bool secure)
    : fd_(tap.queue_fd(queue)),
      vnet_(tap.vnet_header()),
      reads_per_round_(tap.vnet_header() ? 8 : 64),
      buffer_size_(tap.vnet_header() ? kSuperFrameBuffer : max_frame),
      max_frame_(max_frame),
      buffers_(reads_per_round_ * buffer_size_),
      segmenter_(kMaxSegments),
      tx_(kTxSlots) {
  tx_.set_one_by_one(!offloads.batching);
  if (secure) tx_.enable_slot_data((protocol::v2::kOverhead + max_frame + 63) / 64 * 64);
}

void TapToServer::flush(int socket) noexcept {
  if (tx_.empty()) return;
  const std::size_t refused = tx_.flush(socket);
  bump(stats_.send_errors, refused);
  if (refused != 0) VS_DEBUG("send to server refused %zu datagram(s): %s", refused, std::strerror(tx_.last_errno()));
}

void TapToServer::queue(int socket, std::span<const std::uint8_t> header, std::span<const std::uint8_t> payload,
                        const Keypair& keypair, std::uint64_t counter) noexcept {
  if (tx_.full()) flush(socket);
  const std::size_t frame = header.size() + payload.size();
  if (keypair.plaintext) {  // v1: the header alone is built, the payload referenced
    std::uint8_t tunnel[protocol::kDataHeaderSize];
    seal(keypair, MessageKind::frame, counter, tunnel, frame);
    tx_.add(nullptr, tunnel, header, payload);
    return;
  }
  const auto message = tx_.reserve(nullptr, keypair.overhead() + frame);
  // std::copy: either part may be an empty (null) span.
  std::copy(header.begin(), header.end(), message.begin() + protocol::v2::kHeaderSize);
  std::copy(payload.begin(), payload.end(), message.begin() + protocol::v2::kHeaderSize + header.size());
  seal(keypair, MessageKind::frame, counter, message, frame);
}

std::size_t TapToServer::pump(int socket, Keypair* keypair) noexcept {
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
    if (socket < 0 || keypair == nullptr) {
      bump(stats_.dropped_not_joined);
      continue;
    }
    const std::span<std::uint8_t> frame(buf + skip, static_cast<std::size_t>(n) - skip);
    if (!vnet_) {
      if (frame.size() > max_frame_) {
        bump(stats_.dropped_too_big);
        continue;
      }
      const auto counter = keypair->take_counters(1);
      if (!counter) {
        bump(stats_.dropped_not_joined);
        continue;
      }
      queue(socket, {}, frame, *keypair, *counter);
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
    bool fits = true;
    for (const Segment& s : segments) fits = fits && s.headers.size() + s.payload.size() <= max_frame_;
    if (!fits) {
      bump(stats_.dropped_too_big);
      continue;
    }
    const auto first = keypair->take_counters(segments.size());
    if (!first) {
      bump(stats_.dropped_not_joined);
      continue;
    }
    // Payloads point into this read's buffer: keep the train whole in one flush.
    if (tx_.room() < segments.size()) flush(socket);
    std::uint64_t counter = *first;
    for (const Segment& s : segments) queue(socket, s.headers, s.payload, *keypair, counter++);
    datagrams += segments.size();
  }
  bump(stats_.datagrams, datagrams);
  if (socket >= 0) flush(socket);
  return datagrams;
}

}  // namespace vswitch
