// Batched UDP I/O: one recvmmsg fills a batch of preallocated buffers, one sendmmsg sends a
// batch of queued datagrams. Nothing here allocates after construction.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vswitch/endpoint.hpp"
#include "vswitch/result.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch {

// A UDP socket bound to `local` (dual-stack when `local` is the IPv6 any-address) with large
// kernel buffers. Non-blocking reads are requested per call (MSG_DONTWAIT); sends block when
// the socket buffer is full, which is the switch's back-pressure.
Result<UniqueFd> open_udp_socket(const Endpoint& local);
// A UDP socket connected to `remote`, so that ICMP errors surface as ECONNREFUSED.
Result<UniqueFd> open_connected_udp_socket(const Endpoint& remote);

class UdpRxBatch {
 public:
  UdpRxBatch(std::size_t count, std::size_t buffer_size);
  // Receives up to count() datagrams without blocking. Returns how many (0 when none are
  // waiting), or -1 with errno set.
  int receive(int fd) noexcept;

  std::size_t count() const noexcept { return msgs_.size(); }
  std::span<const std::uint8_t> data(std::size_t i) const noexcept {
    return {&buffers_[i * buffer_size_], msgs_[i].msg_len};
  }
  Endpoint source(std::size_t i) const noexcept {
    return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&sources_[i]),
                                   msgs_[i].msg_hdr.msg_namelen);
  }
  // The datagram was larger than the buffer and has been cut: it must be dropped.
  bool truncated(std::size_t i) const noexcept { return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }

 private:
  std::size_t buffer_size_;
  std::vector<std::uint8_t> buffers_;
  std::vector<sockaddr_storage> sources_;
  std::vector<iovec> iovs_;
  std::vector<mmsghdr> msgs_;
};

class UdpTxBatch {
 public:
  static constexpr std::size_t kMaxHeaderSize = 64;

  explicit UdpTxBatch(std::size_t capacity);

  bool full() const noexcept { return used_ == slots_.size(); }
  bool empty() const noexcept { return used_ == 0; }
  // Queues one datagram: `header` is copied, `payload` is referenced and must stay valid until
  // flush(). `dest` is copied; nullptr sends on a connected socket. The caller flushes when full.
  void add(const Endpoint* dest, std::span<const std::uint8_t> header,
           std::span<const std::uint8_t> payload) noexcept;
  // Sends every queued datagram. Returns how many the kernel refused (each is skipped, so one
  // bad destination does not stall the rest); `last_errno` tells why.
  std::size_t flush(int fd) noexcept;
  int last_errno() const noexcept { return last_errno_; }

 private:
  struct Slot {
    std::uint8_t header[kMaxHeaderSize];
    Endpoint dest;
    iovec iov[2];
  };
  std::vector<Slot> slots_;
  std::vector<mmsghdr> msgs_;
  std::size_t used_ = 0;
  int last_errno_ = 0;
};

}  // namespace vswitch
