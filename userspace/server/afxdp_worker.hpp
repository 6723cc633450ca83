// One AF_XDP polling worker: owns the socket of one receive queue and forwards what arrives
// there. The forwarding loop (after xdpsock's l2fwd):
//   reap TX completions into the pool -> refill the fill ring -> peek a batch of RX ->
//   lock the switch once, decide every packet, rewrite or build frames -> unlock ->
//   reserve TX slots, write descriptors, submit, kick -> release exactly the RX batch.
// Known unicast leaves in the chunk it arrived in: the outer headers are rewritten for the
// egress port in place (moved if the header length differs) and the DATA header gets the
// egress index and counter. Only flooding and control replies take new chunks and copy.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "server_loop.hpp"
#include "vswitch/counter.hpp"
#include "vswitch/underlay.hpp"
#include "vswitch/xsk_socket.hpp"

namespace vswitch {

// Underlay routes of the ports, learned from their packets. Indexed by port slot, guarded by
// the switch lock (SharedSwitch::mutex) like the core itself.
class PortRoutes {
 public:
  explicit PortRoutes(std::size_t max_ports) : routes_(max_ports) {}
  void learn(PortIndex port, const underlay::UnderlayRoute& route) noexcept;
  const underlay::UnderlayRoute* find(PortIndex port) const noexcept;

 private:
  struct Entry {
    PortIndex port = kNoPort;
    underlay::UnderlayRoute route;
  };
  std::vector<Entry> routes_;
};

// Written by the worker, read by the control thread (vswitch/counter.hpp).
struct QueueCounters {
  std::atomic<std::uint64_t> rx{0};
  std::atomic<std::uint64_t> tx_in_place{0};  // forwarded in the chunk they arrived in
  std::atomic<std::uint64_t> tx_copied{0};    // flood copies and replies
  std::atomic<std::uint64_t> tx_dropped{0};   // TX ring full
  std::atomic<std::uint64_t> tx_kernel{0};    // sent through the slow path's socket
  std::atomic<std::uint64_t> batches{0};
};

class AfxdpWorker {
 public:
  // `kernel_socket`: the slow path's UDP socket, for ports without a learned underlay route.
  AfxdpWorker(XskSocket socket, int kernel_socket, std::uint32_t batch, bool busy_poll);

  // Runs until `stop` is set.
  void run(SharedSwitch& sw, PortRoutes& routes, const std::atomic<bool>& stop) noexcept;
  // After run() returned: BYE to every port through this worker's socket.
  void say_goodbye(SharedSwitch& sw, PortRoutes& routes) noexcept;

  const XskSocket& socket() const noexcept { return socket_; }
  const QueueCounters& counters() const noexcept { return counters_; }

 private:
  struct PendingTx {
    std::uint64_t addr;
    std::uint32_t len;
  };

  void process(SharedSwitch& sw, PortRoutes& routes, std::uint32_t idx, std::uint32_t n) noexcept;
  void handle(SwitchCore& core, PortRoutes& routes, std::uint64_t addr, std::uint32_t len,
              TimePoint now) noexcept;
  // Rewrites the received chunk for the egress port and queues it; false without headroom.
  bool forward_in_place(const underlay::UnderlayRoute& route, const protocol::DataHeader& header,
                        std::uint64_t addr, const underlay::Packet& p) noexcept;
  // A new chunk holding `payload` behind headers for `route`; false when the pool is empty.
  bool build(const underlay::UnderlayRoute& route, std::span<const std::uint8_t> payload,
             const protocol::DataHeader* data_header) noexcept;
  void queue_tx(std::uint64_t addr, std::size_t len) noexcept;
  void send_via_kernel(const Port& port, const protocol::DataHeader& header,
                       std::span<const std::uint8_t> frame) noexcept;
  void submit_tx() noexcept;

  static constexpr std::size_t kMaxPending = 1024;  // at most the TX ring's size

  XskSocket socket_;
  int kernel_socket_;
  std::uint32_t batch_;
  bool busy_poll_;
  std::vector<PendingTx> pending_;
  QueueCounters counters_;
};

}  // namespace vswitch
