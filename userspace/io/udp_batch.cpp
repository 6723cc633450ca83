#include "vswitch/udp_batch.hpp"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>

namespace vswitch {
namespace {

// Bigger socket buffers absorb bursts between two polls; the *FORCE variants pass the sysctl
// limits when we are root, the plain ones are the unprivileged fallback.
void grow_buffers(int fd) {
  const int size = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

}  // namespace

Result<UniqueFd> open_udp_socket(const Endpoint& local) {
  UniqueFd fd(::socket(local.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket");
  if (local.family() == AF_INET6) {
    const int off = 0;  // accept IPv4 too when bound to [::]
    setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  grow_buffers(fd.get());
  if (::bind(fd.get(), local.sockaddr_ptr(), local.size()) != 0)
    return errno_error("cannot listen on " + local.to_string());
  return fd;
}

Result<UniqueFd> open_connected_udp_socket(const Endpoint& remote) {
  UniqueFd fd(::socket(remote.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket");
  grow_buffers(fd.get());
  if (::connect(fd.get(), remote.sockaddr_ptr(), remote.size()) != 0)
    return errno_error("cannot reach " + remote.to_string());
  return fd;
}

UdpRxBatch::UdpRxBatch(std::size_t count, std::size_t buffer_size)
    : buffer_size_(buffer_size),
      buffers_(count * buffer_size),
      sources_(count),
      iovs_(count),
      msgs_(count) {}

int UdpRxBatch::receive(int fd) noexcept {
  for (std::size_t i = 0; i < msgs_.size(); ++i) {
    iovs_[i] = {&buffers_[i * buffer_size_], buffer_size_};
    msgs_[i].msg_hdr = {};
    msgs_[i].msg_hdr.msg_name = &sources_[i];
    msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    msgs_[i].msg_hdr.msg_iov = &iovs_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
  }
  const int n = ::recvmmsg(fd, msgs_.data(), static_cast<unsigned>(msgs_.size()), MSG_DONTWAIT,
                           nullptr);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  return n;
}

UdpTxBatch::UdpTxBatch(std::size_t capacity) : slots_(capacity), msgs_(capacity) {}

void UdpTxBatch::add(const Endpoint* dest, std::span<const std::uint8_t> header,
                     std::span<const std::uint8_t> payload) noexcept {
  Slot& s = slots_[used_];
  mmsghdr& m = msgs_[used_];
  const std::size_t header_size = header.size() < kMaxHeaderSize ? header.size() : kMaxHeaderSize;
  std::memcpy(s.header, header.data(), header_size);
  s.iov[0] = {s.header, header_size};
  s.iov[1] = {const_cast<std::uint8_t*>(payload.data()), payload.size()};
  m.msg_hdr = {};
  if (dest != nullptr) {
    s.dest = *dest;
    m.msg_hdr.msg_name = s.dest.sockaddr_ptr();
    m.msg_hdr.msg_namelen = s.dest.size();
  }
  m.msg_hdr.msg_iov = s.iov;
  m.msg_hdr.msg_iovlen = payload.empty() ? 1 : 2;
  ++used_;
}

std::size_t UdpTxBatch::flush(int fd) noexcept {
  std::size_t refused = 0;
  std::size_t done = 0;
  while (done < used_) {
    const int n = ::sendmmsg(fd, &msgs_[done], static_cast<unsigned>(used_ - done), 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // The message at `done` failed: skip it and carry on with the rest.
    last_errno_ = errno;
    ++refused;
    ++done;
  }
  used_ = 0;
  return refused;
}

}  // namespace vswitch
