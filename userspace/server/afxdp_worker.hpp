// One AF_XDP polling worker: owns the socket of one receive queue and forwards what arrives
// there, in data_plane.hpp's three phases. The loop (after xdpsock's l2fwd):
//   reap TX completions into the pool -> refill the fill ring -> peek a batch of RX ->
//   A: parse the underlay, open each message in its chunk (no lock) ->
//   B: lock once, admit + switch + plan, learn the senders' routes -> unlock ->
//   C: seal (unicast: in the chunk it arrived in, outer headers rewritten in front of it;
//      flood and replies: a new chunk each) -> reserve TX, submit, kick -> release the RX batch.
// The worker is an epoch reader: online while it holds a batch, offline while it sleeps.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "shared_switch.hpp"
#include "vswitch/data_plane.hpp"
#include "handshake_worker.hpp"
#include "vswitch/counter.hpp"
#include "vswitch/underlay.hpp"
#include "vswitch/xsk_socket.hpp"

namespace vswitch {

// Underlay routes of the ports, learned from their packets. Indexed by port slot, guarded by
// the switch lock (SharedSwitch::mutex) like the switch state.
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
  Counter rx;
  Counter tx_in_place;  // forwarded in the chunk they arrived in
  Counter tx_copied;    // flood copies and replies
  Counter tx_dropped;   // TX ring full
  Counter tx_kernel;    // sent through the slow path's socket
  Counter to_control;   // handshake messages handed to the control thread
  Counter batches;
};

class AfxdpWorker {
 public:
  // `kernel_socket`: the slow path's UDP socket, for ports without a learned underlay route.
  // `vxlan_port`: EVPN's VXLAN port, whose datagrams the XDP program steers here too (0: none).
  AfxdpWorker(XskSocket socket, int kernel_socket, std::uint32_t batch, bool busy_poll, std::size_t max_ports,
              std::uint16_t vxlan_port = 0);

  // Runs until `stop` is set.
  void run(SharedSwitch& sw, HandshakeWorker& handshakes, PortRoutes& routes, const std::atomic<bool>& stop) noexcept;

  const XskSocket& socket() const noexcept { return socket_; }
  const QueueCounters& counters() const noexcept { return counters_; }

 private:
  struct PendingTx {
    std::uint64_t addr;
    std::uint32_t len;
  };
  struct Received {
    std::uint64_t addr;
    underlay::Packet packet;
    bool reused = false;  // went out again in place
  };
  struct Route {
    bool known = false;
    underlay::UnderlayRoute route;
  };

  void process(SharedSwitch& sw, HandshakeWorker& handshakes, PortRoutes& routes, std::uint32_t idx,
               std::uint32_t n) noexcept;
  void decide_batch(SharedSwitch& sw, PortRoutes& routes, TimePoint now, std::size_t& next) noexcept;
  void transmit() noexcept;
  void send_in_place(const Outbound& o, const Route& r) noexcept;
  void send_copy(const Outbound& o, const Route& r) noexcept;
  // A new chunk: room for the route's headers, then the message; false when the pool is empty.
  bool alloc_message(const Route& r, std::uint64_t& chunk, std::span<std::uint8_t>& message) noexcept;
  void finish(const Route& r, std::uint64_t chunk, std::span<std::uint8_t> message, std::size_t size) noexcept;
  void send_via_kernel(const Endpoint& to, std::span<const std::uint8_t> message) noexcept;
  void queue_tx(std::uint64_t addr, std::size_t len) noexcept;
  void submit_tx() noexcept;

  static constexpr std::size_t kMaxPending = 1024;  // at most the TX ring's size

  XskSocket socket_;
  int kernel_socket_;
  std::uint32_t batch_;
  bool busy_poll_;
  std::size_t max_ports_;
  std::uint16_t vxlan_port_;  // network byte order, as in the UDP header; 0: none
  std::vector<PendingTx> pending_;
  std::vector<Inbound> inbound_;
  std::vector<Received> received_;
  std::vector<Outbound> plan_;
  std::vector<Route> plan_routes_;
  std::vector<PortEvent> events_;
  DropTally drops_;
  QueueCounters counters_;
};

}  // namespace vswitch
