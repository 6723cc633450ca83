// Batched UDP I/O: one recvmmsg fills a batch of preallocated buffers, one sendmmsg sends a
// batch of queued datagrams. Nothing here allocates after construction.
//
// Segmentation offloads (docs/architecture.md, "Offloads"):
// - UdpTxBatch with GSO on packs consecutive datagrams to the same destination, of equal size
//   (the last may be shorter), into one message with a UDP_SEGMENT cmsg: the kernel builds one
//   64 KB skb and cuts it into the same datagrams at the lowest layer (or the NIC does). On the
//   wire nothing changes. A device that cannot checksum makes the kernel answer EIO: the batch
//   then turns GSO off for good and resends that train datagram by datagram.
// - UdpRxBatch with GRO on receives, in one message, several datagrams the kernel merged; the
//   UDP_GRO cmsg tells their size, and datagrams() cuts them apart again.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vswitch/counter.hpp"
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

// Turns UDP_GRO on for a socket. False (and nothing changed) on kernels before 5.12, where
// wireguard-go found it unreliable, or when the kernel refuses.
bool enable_udp_gro(int fd) noexcept;

class UdpRxBatch {
 public:
  // With GRO, buffers should hold 64 KB: a merged message is cut (MSG_TRUNC) otherwise.
  UdpRxBatch(std::size_t count, std::size_t buffer_size, bool gro = false);
  // Receives up to count() messages without blocking. Returns how many (0 when none are
  // waiting), or -1 with errno set.
  int receive(int fd) noexcept;

  std::size_t count() const noexcept { return msgs_.size(); }
  // Message i: one datagram, or several of segment_size(i) bytes each (the last may be shorter).
  std::span<std::uint8_t> data(std::size_t i) noexcept { return {&buffers_[i * buffer_size_], msgs_[i].msg_len}; }
  // The size of each datagram in message i (its whole length without GRO).
  std::size_t segment_size(std::size_t i) const noexcept;
  Endpoint source(std::size_t i) const noexcept {
    return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&sources_[i]),
                                   msgs_[i].msg_hdr.msg_namelen);
  }
  // The datagram was larger than the buffer and has been cut: it must be dropped.
  bool truncated(std::size_t i) const noexcept { return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }

 private:
  static constexpr std::size_t kControlSize = 32;
  std::size_t buffer_size_;
  bool gro_;
  std::vector<std::uint8_t> buffers_;
  std::vector<sockaddr_storage> sources_;
  std::vector<iovec> iovs_;
  std::vector<mmsghdr> msgs_;
  std::vector<std::uint8_t> control_;
};

// Calls fn(datagram) for each datagram of message i of a received batch.
template <class Fn>
void for_each_datagram(UdpRxBatch& rx, std::size_t i, Fn&& fn) {
  const auto msg = rx.data(i);
  const std::size_t step = rx.segment_size(i);
  for (std::size_t off = 0; off < msg.size(); off += step)
    fn(msg.subspan(off, msg.size() - off < step ? msg.size() - off : step));
}

// Written by the sending thread; readable from another (vswitch/counter.hpp).
struct UdpTxStats {
  Counter trains{0};           // messages sent with UDP_SEGMENT
  Counter train_datagrams{0};  // datagrams inside them
  Counter gso_fallbacks{0};    // EIO: GSO turned off, train resent one by one

  UdpTxStats() = default;
  UdpTxStats(const UdpTxStats& o)  // for moving a batch before use: a snapshot
      : trains(read(o.trains)), train_datagrams(read(o.train_datagrams)), gso_fallbacks(read(o.gso_fallbacks)) {}
};

class UdpTxBatch {
 public:
  static constexpr std::size_t kMaxHeaderSize = 256;
  static constexpr std::size_t kMaxTrain = 64;         // UDP_MAX_SEGMENTS before 6.9
  static constexpr std::size_t kMaxTrainBytes = 65507;  // UDP payload of one IPv4 skb

  explicit UdpTxBatch(std::size_t capacity);

  // Packs trains (UDP_SEGMENT) from now on.
  void enable_gso(bool on) noexcept { gso_.store(on, std::memory_order_relaxed); }
  bool gso() const noexcept { return gso_.load(std::memory_order_relaxed); }
  // Sends each datagram with its own sendmsg (the ablation baseline: no batching at all).
  void set_one_by_one(bool on) noexcept { one_by_one_ = on; }
  // Gives every slot `bytes` of storage of its own, for reserve(): datagrams that must be built
  // (sealed) in place rather than referenced.
  void enable_slot_data(std::size_t bytes);
  // Queues a datagram of `size` bytes (at most the slot data size) and returns its storage, to be
  // filled before flush(). The caller flushes when full.
  std::span<std::uint8_t> reserve(const Endpoint* dest, std::size_t size) noexcept {
    const std::span<std::uint8_t> out(&slot_data_[used_ * slot_data_size_], size);
    add(dest, {}, {}, out);
    return out;
  }
  std::size_t slot_data_size() const noexcept { return slot_data_size_; }

  bool full() const noexcept { return used_ == slots_.size(); }
  bool empty() const noexcept { return used_ == 0; }
  std::size_t room() const noexcept { return slots_.size() - used_; }
  // Queues one datagram: `header` is copied, `payload` is referenced and must stay valid until
  // flush(). `dest` is copied; nullptr sends on a connected socket. The caller flushes when full.
  void add(const Endpoint* dest, std::span<const std::uint8_t> header,
           std::span<const std::uint8_t> payload) noexcept {
    add(dest, header, {}, payload);
  }
  // The same with the header in two parts (tunnel header, then a segment's own headers), both
  // copied straight into the slot.
  void add(const Endpoint* dest, std::span<const std::uint8_t> header, std::span<const std::uint8_t> header_tail,
           std::span<const std::uint8_t> payload) noexcept;
  // Sends every queued datagram. Returns how many the kernel refused (each is skipped, so one
  // bad destination does not stall the rest); `last_errno` tells why.
  std::size_t flush(int fd) noexcept;
  int last_errno() const noexcept { return last_errno_; }
  const UdpTxStats& stats() const noexcept { return stats_; }

 private:
  struct Slot {
    std::uint8_t header[kMaxHeaderSize];
    Endpoint dest;
  };
  struct Message {
    std::uint32_t first_slot = 0, slots = 0;
    std::uint32_t segment_size = 0, bytes = 0;
    bool closed = false;  // a shorter datagram ended the train
  };
  bool joins_last_message(const Endpoint* dest, std::size_t size) const noexcept;
  std::size_t send_one_by_one(int fd, const Message& m) noexcept;

  std::vector<Slot> slots_;
  std::vector<iovec> iovs_;  // two per slot (header, payload), contiguous across a train
  std::vector<Message> messages_;
  std::vector<mmsghdr> msgs_;
  std::vector<std::uint8_t> control_;
  std::vector<std::uint8_t> slot_data_;
  std::size_t slot_data_size_ = 0;
  std::size_t used_ = 0, messages_used_ = 0;
  Relaxed<bool> gso_{false};  // also read by the control socket's thread (facts)
  bool one_by_one_ = false;
  int last_errno_ = 0;
  UdpTxStats stats_;
};

}  // namespace vswitch
