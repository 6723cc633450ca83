#include "server_to_tap.hpp"

#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "vswitch/inner_packet.hpp"

namespace vswitch {
namespace {

const std::uint8_t kNoOffload[virtio_net::kHeaderSize] = {};

}  // namespace

ServerToTap::ServerToTap(TapDevice& tap, const ClientOffloads& offloads, std::size_t max_frames_per_round)
    : tap_(tap),
      vnet_(tap.vnet_header()),
      coalesce_(tap.vnet_header() && offloads.coalesce),
      coalescer_(coalesce_ ? max_frames_per_round : 0) {}

int ServerToTap::queue_fd_for(std::span<const std::uint8_t> frame) const noexcept {
  const std::size_t queues = tap_.queues();
  if (queues == 1) return tap_.fd();
  inner::Layout l;
  if (!inner::parse(frame, l) || l.l4 + 4 > frame.size()) return tap_.fd();
  // Symmetric: both directions of a flow sum to the same value.
  const std::size_t addr = l.ipv6 ? 16 : 4;
  std::uint32_t h = 0;
  for (std::size_t i = 0; i < 2 * addr; i += 4) {
    std::uint32_t w = 0;
    std::memcpy(&w, frame.data() + l.l3 + (l.ipv6 ? 8 : 12) + i, 4);
    h += w;
  }
  std::uint16_t sport = 0, dport = 0;
  if (l.protocol == inner::kProtoTcp || l.protocol == inner::kProtoUdp) {
    std::memcpy(&sport, frame.data() + l.l4, 2);
    std::memcpy(&dport, frame.data() + l.l4 + 2, 2);
  }
  h += std::uint32_t{sport} + dport + l.protocol;
  h ^= h >> 16;
  h *= 0x45d9f3bu;
  h ^= h >> 16;
  return tap_.queue_fd(h % queues);
}

void ServerToTap::write(std::span<const iovec> iov, std::size_t frames) noexcept {
  // iov[0] may be the virtio-net header; the frame (or a coalesced packet's head) follows.
  const iovec& head = iov[vnet_ ? 1 : 0];
  const int fd = queue_fd_for({static_cast<const std::uint8_t*>(head.iov_base), head.iov_len});
  ssize_t rc;
  do rc = ::writev(fd, iov.data(), static_cast<int>(iov.size()));
  while (rc < 0 && errno == EINTR);
  ++stats_.writes;
  if (rc < 0) stats_.write_errors += frames;
}

void ServerToTap::add(std::span<std::uint8_t> frame) noexcept {
  ++stats_.frames;
  if (coalesce_) {
    if (coalescer_.full()) flush();
    coalescer_.add(frame);
    return;
  }
  if (vnet_) {
    const iovec iov[2] = {{const_cast<std::uint8_t*>(kNoOffload), sizeof kNoOffload}, {frame.data(), frame.size()}};
    write(iov, 1);
    return;
  }
  const iovec iov[1] = {{frame.data(), frame.size()}};
  write(iov, 1);
}

void ServerToTap::flush() noexcept {
  if (!coalesce_) return;
  coalescer_.finish();
  for (std::size_t i = 0; i < coalescer_.packets(); ++i) {
    const auto iov = coalescer_.packet(i);
    write(iov, iov.size() - 1);
  }
  coalescer_.clear();
}

}  // namespace vswitch
