// One AF_XDP socket bound to one receive queue, with its own UMEM and frame pool.
//
// The UMEM is `frames` chunks of `frame_size` bytes. At start half of them go to the fill
// ring (the kernel writes received packets there) and half stay in the pool for frames we
// create (flood copies, control replies). A forwarded packet travels RX -> TX in its own chunk;
// the completion ring hands chunks back to the pool, and the pool refills the fill ring in
// whole batches. Counts are bounded by the rings: fill and completion hold `ring_size` each,
// so frames >= 2 * ring_size keeps the kernel from starving while TX is in flight.
#pragma once

#include <xdp/xsk.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vswitch/result.hpp"

namespace vswitch {

struct XskConfig {
  std::uint32_t queue = 0;
  std::uint32_t frames = 4096;
  std::uint32_t frame_size = 4096;
  std::uint32_t ring_size = 2048;
  bool force_copy = false;
  bool force_zero_copy = false;
  bool busy_poll = false;
  std::uint32_t batch = 64;
  // No steering and no receive: the whole UMEM is the transmit pool (load generators).
  bool transmit_only = false;
};

class XskSocket {
 public:
  // Creates the UMEM and socket and inserts the socket into the XSKMAP slot of its queue
  // (not for a transmit-only socket, which takes -1).
  static Result<XskSocket> open(const std::string& ifname, const XskConfig& config, int xsk_map_fd);
  XskSocket(XskSocket&&) noexcept;
  XskSocket& operator=(XskSocket&&) noexcept;
  ~XskSocket();

  int fd() const noexcept;
  bool zero_copy() const noexcept;
  std::uint32_t queue() const noexcept;
  std::uint32_t frame_size() const noexcept;

  xsk_ring_cons& rx() noexcept;
  xsk_ring_prod& tx() noexcept;
  std::uint8_t* data(std::uint64_t addr) noexcept;
  // The chunk an address (possibly with an offset) belongs to.
  std::uint64_t chunk_of(std::uint64_t addr) const noexcept;

  // Frame pool. alloc() returns false when empty.
  bool alloc(std::uint64_t& addr) noexcept;
  void release(std::uint64_t addr) noexcept;

  // Completed TX chunks back to the pool; returns how many.
  std::uint32_t reap_completions() noexcept;
  // Every TX completion since the socket opened.
  std::uint64_t completed() const noexcept;
  // Pool chunks to the fill ring, in whole batches while the pool keeps a reserve for TX.
  void refill() noexcept;
  // Tells the kernel to transmit (copy mode always needs it; zero-copy only when flagged).
  void kick_tx() noexcept;
  // Descriptors on the TX ring the kernel has not taken yet.
  std::uint32_t tx_pending() noexcept;
  // Kicks until the kernel has taken every TX descriptor (bounded). Copy mode sends at most
  // a budget (32 by default) per kick and stops early when the device drops, so one kick
  // after a batch of 64 leaves the rest for the next kick or poll().
  void flush_tx() noexcept;
  // The kernel's own drop counters for this socket (XDP_STATISTICS); zeros if unavailable.
  struct KernelStats {
    std::uint64_t rx_dropped = 0;        // no room: dropped before reaching the RX ring
    std::uint64_t rx_ring_full = 0;
    std::uint64_t rx_fill_ring_empty = 0;  // the kernel found no free frame to receive into
    std::uint64_t rx_invalid_descs = 0, tx_invalid_descs = 0;
  };
  KernelStats kernel_stats() const noexcept;

 private:
  struct State;
  explicit XskSocket(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace vswitch
