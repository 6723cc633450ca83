#include "vswitch/udp_batch.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
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

bool kernel_at_least(int major, int minor) noexcept {
  utsname u{};
  int have_major = 0, have_minor = 0;
  if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &have_major, &have_minor) != 2) return false;
  return have_major > major || (have_major == major && have_minor >= minor);
}

bool same_destination(const Endpoint* dest, const Endpoint& queued, bool queued_connected) noexcept {
  if (dest == nullptr) return queued_connected;
  return !queued_connected && *dest == queued;
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

bool enable_udp_gro(int fd) noexcept {
  if (!kernel_at_least(5, 12)) return false;
  const int on = 1;
  return setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on) == 0;
}

UdpRxBatch::UdpRxBatch(std::size_t count, std::size_t buffer_size, bool gro)
    : buffer_size_(buffer_size),
      gro_(gro),
      buffers_(count * buffer_size),
      sources_(count),
      iovs_(count),
      msgs_(count),
      control_(gro ? count * kControlSize : 0) {}

int UdpRxBatch::receive(int fd) noexcept {
  for (std::size_t i = 0; i < msgs_.size(); ++i) {
    iovs_[i] = {&buffers_[i * buffer_size_], buffer_size_};
    msgs_[i].msg_hdr = {};
    msgs_[i].msg_hdr.msg_name = &sources_[i];
    msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    msgs_[i].msg_hdr.msg_iov = &iovs_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
    if (gro_) {
      msgs_[i].msg_hdr.msg_control = &control_[i * kControlSize];
      msgs_[i].msg_hdr.msg_controllen = kControlSize;
    }
  }
  const int n = ::recvmmsg(fd, msgs_.data(), static_cast<unsigned>(msgs_.size()), MSG_DONTWAIT,
                           nullptr);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  return n;
}

std::size_t UdpRxBatch::segment_size(std::size_t i) const noexcept {
  const std::size_t whole = msgs_[i].msg_len == 0 ? 1 : msgs_[i].msg_len;
  if (!gro_) return whole;
  auto* hdr = const_cast<msghdr*>(&msgs_[i].msg_hdr);
  for (cmsghdr* c = CMSG_FIRSTHDR(hdr); c != nullptr; c = CMSG_NXTHDR(hdr, c)) {
    if (c->cmsg_level != IPPROTO_UDP || c->cmsg_type != UDP_GRO) continue;
    int size = 0;
    std::memcpy(&size, CMSG_DATA(c), sizeof size);
    return size > 0 ? static_cast<std::size_t>(size) : whole;
  }
  return whole;
}

UdpTxBatch::UdpTxBatch(std::size_t capacity)
    : slots_(capacity),
      iovs_(2 * capacity),
      messages_(capacity),
      msgs_(capacity),
      control_(capacity * CMSG_SPACE(sizeof(std::uint16_t))) {}

void UdpTxBatch::enable_slot_data(std::size_t bytes) {
  slot_data_size_ = bytes;
  slot_data_.assign(slots_.size() * bytes, 0);
}

bool UdpTxBatch::joins_last_message(const Endpoint* dest, std::size_t size) const noexcept {
  if (!gso() || messages_used_ == 0) return false;
  const Message& m = messages_[messages_used_ - 1];
  const mmsghdr& last = msgs_[messages_used_ - 1];
  if (m.closed || size > m.segment_size || m.slots >= kMaxTrain || m.bytes + size > kMaxTrainBytes) return false;
  return same_destination(dest, slots_[m.first_slot].dest, last.msg_hdr.msg_name == nullptr);
}

void UdpTxBatch::add(const Endpoint* dest, std::span<const std::uint8_t> header,
                     std::span<const std::uint8_t> header_tail, std::span<const std::uint8_t> payload) noexcept {
  Slot& s = slots_[used_];
  const std::size_t head_size = std::min(header.size(), kMaxHeaderSize);
  const std::size_t tail_size = std::min(header_tail.size(), kMaxHeaderSize - head_size);
  if (head_size != 0) std::memcpy(s.header, header.data(), head_size);  // an empty span may be null
  if (tail_size != 0) std::memcpy(s.header + head_size, header_tail.data(), tail_size);
  const std::size_t header_size = head_size + tail_size;
  iovs_[2 * used_] = {s.header, header_size};
  iovs_[2 * used_ + 1] = {const_cast<std::uint8_t*>(payload.data()), payload.size()};
  const std::size_t size = header_size + payload.size();
  if (joins_last_message(dest, size)) {
    Message& m = messages_[messages_used_ - 1];
    ++m.slots;
    m.bytes += static_cast<std::uint32_t>(size);
    m.closed = size < m.segment_size;
    msgs_[messages_used_ - 1].msg_hdr.msg_iovlen += 2;
    ++used_;
    return;
  }
  Message& m = messages_[messages_used_];
  m = {static_cast<std::uint32_t>(used_), 1, static_cast<std::uint32_t>(size), static_cast<std::uint32_t>(size), false};
  mmsghdr& h = msgs_[messages_used_];
  h.msg_hdr = {};
  if (dest != nullptr) {
    s.dest = *dest;
    h.msg_hdr.msg_name = s.dest.sockaddr_ptr();
    h.msg_hdr.msg_namelen = s.dest.size();
  }
  h.msg_hdr.msg_iov = &iovs_[2 * used_];
  h.msg_hdr.msg_iovlen = 2;
  ++messages_used_;
  ++used_;
}

std::size_t UdpTxBatch::send_one_by_one(int fd, const Message& m) noexcept {
  std::size_t refused = 0;
  const msghdr& train = msgs_[&m - messages_.data()].msg_hdr;
  for (std::uint32_t k = 0; k < m.slots; ++k) {
    msghdr one{};
    one.msg_name = train.msg_name;
    one.msg_namelen = train.msg_namelen;
    one.msg_iov = &iovs_[2 * (m.first_slot + k)];
    one.msg_iovlen = 2;
    ssize_t rc;
    do rc = ::sendmsg(fd, &one, 0);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
      last_errno_ = errno;
      ++refused;
    }
  }
  return refused;
}

std::size_t UdpTxBatch::flush(int fd) noexcept {
  // Trains get their UDP_SEGMENT size now that they are complete.
  for (std::size_t i = 0; i < messages_used_; ++i) {
    msghdr& h = msgs_[i].msg_hdr;
    h.msg_control = nullptr;
    h.msg_controllen = 0;
    if (messages_[i].slots < 2) continue;
    auto* buf = &control_[i * CMSG_SPACE(sizeof(std::uint16_t))];
    h.msg_control = buf;
    h.msg_controllen = CMSG_SPACE(sizeof(std::uint16_t));
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    const auto size = static_cast<std::uint16_t>(messages_[i].segment_size);
    std::memcpy(CMSG_DATA(c), &size, sizeof size);
  }
  std::size_t refused = 0;
  std::size_t done = 0;
  while (done < messages_used_) {
    const unsigned want = one_by_one_ ? 1u : static_cast<unsigned>(messages_used_ - done);
    const int n = ::sendmmsg(fd, &msgs_[done], want, 0);
    if (n > 0) {
      for (std::size_t i = done; i < done + static_cast<std::size_t>(n); ++i) {
        if (messages_[i].slots < 2) continue;
        bump(stats_.trains);
        bump(stats_.train_datagrams, messages_[i].slots);
      }
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    last_errno_ = errno;
    const Message& m = messages_[done];
    if (m.slots > 1 && errno == EIO) {
      // The egress device cannot checksum, so the kernel cannot segment: no more trains.
      gso_.store(false, std::memory_order_relaxed);
      bump(stats_.gso_fallbacks);
      refused += send_one_by_one(fd, m);
    } else {
      refused += m.slots;  // the message at `done` failed: skip it and carry on with the rest
    }
    ++done;
  }
  used_ = messages_used_ = 0;
  return refused;
}

}  // namespace vswitch
