#include "server_to_tap.hpp"

#include <sys/uio.h>

#include <cerrno>

namespace vswitch {
namespace {

const std::uint8_t kNoOffload[virtio_net::kHeaderSize] = {};

}  // namespace

ServerToTap::ServerToTap(TapDevice& tap, const ClientOffloads& offloads, std::size_t max_frames_per_round)
    : tap_(tap),
      vnet_(tap.vnet_header()),
      coalesce_(tap.vnet_header() && offloads.coalesce),
      coalescer_(coalesce_ ? max_frames_per_round : 0) {}

void ServerToTap::write(std::span<const iovec> iov, std::size_t frames) noexcept {
  ssize_t rc;
  do rc = ::writev(tap_.fd(), iov.data(), static_cast<int>(iov.size()));
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
