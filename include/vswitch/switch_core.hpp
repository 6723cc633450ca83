// The switch: protocol handling, learning and forwarding decisions, with no I/O.
//
// A datapath hands every received datagram to receive() together with its source endpoint
// and the time; the core answers with a Verdict: drop (with a reason), reply (a control
// message written into the caller's buffer), unicast to one port, or flood to the other ports
// of the ingress network. The datapath then asks for_each_egress() for the destinations and
// the DATA header each one needs, and only moves bytes. Time is always a parameter, so tests
// drive aging and timeouts with a fake clock; expire() is called about once a second.
//
// Switching rules (those of an IEEE 802.1D learning bridge):
//  - learn source MAC -> ingress port on every valid frame; follow moves;
//  - known unicast goes to its port only, never back to the ingress port (filtered);
//  - broadcast, multicast and unknown unicast go to every other port of the same network;
//  - frames from a multicast/broadcast/zero source MAC are dropped.
// Not thread-safe; the owner serialises calls (docs/architecture.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "vswitch/fdb.hpp"
#include "vswitch/port_table.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/switch_stats.hpp"
#include "vswitch/time.hpp"

namespace vswitch {

struct SwitchConfig {
  std::size_t max_ports = 1024;
  std::size_t fdb_max = 65536;
  std::size_t port_max_macs = 1024;
  Duration fdb_aging = std::chrono::seconds(300);
  Duration port_timeout = std::chrono::seconds(75);  // three default keepalive intervals
  std::uint16_t mtu = 1500;                          // the largest MTU a port may negotiate
  std::uint32_t unknown_session_replies_per_second = 100;
};

struct Verdict {
  enum class Action : std::uint8_t {
    drop,     // see `reason`
    consumed, // handled, nothing to send (e.g. BYE from a client)
    reply,    // send reply_size bytes of the reply buffer back to the source
    unicast,  // forward `frame` to `egress`
    flood,    // forward `frame` to every other port of `network`
  };
  Action action = Action::drop;
  DropReason reason = DropReason::truncated;
  PortIndex ingress = kNoPort;
  PortIndex egress = kNoPort;
  std::uint64_t network = 0;
  std::span<const std::uint8_t> frame;
  std::size_t reply_size = 0;
};

class SwitchCore {
 public:
  // Large enough for any control reply.
  static constexpr std::size_t kReplyBufferSize = 64;

  explicit SwitchCore(const SwitchConfig& config);

  // Decides what to do with one datagram. `reply` must hold kReplyBufferSize bytes.
  Verdict receive(const Endpoint& from, std::span<const std::uint8_t> datagram, TimePoint now,
                  std::span<std::uint8_t> reply) noexcept;

  // Calls fn(const Port& egress, const protocol::DataHeader& header) for the destination of a
  // unicast verdict or each flood destination; counts tx and skips ports whose MTU is too small.
  // Returns the number of destinations.
  template <class Fn>
  std::size_t for_each_egress(const Verdict& v, Fn&& fn) noexcept;

  // Ages FDB entries and removes ports silent for longer than the port timeout.
  void expire(TimePoint now);

  // Server shutdown: writes a BYE for each port. fn(const Port&, span<const uint8_t> bye).
  template <class Fn>
  void for_each_port_bye(Fn&& fn);

  // A datagram the datapath could not receive whole, or could not send.
  void count_drop(DropReason reason) noexcept { stats_.drop(reason); }

  const SwitchStats& stats() const noexcept { return stats_; }
  const PortTable& ports() const noexcept { return ports_; }
  const Fdb& fdb() const noexcept { return fdb_; }
  const SwitchConfig& config() const noexcept { return config_; }

 private:
  Verdict on_hello(const Endpoint& from, std::span<const std::uint8_t> msg, TimePoint now,
                   std::span<std::uint8_t> reply);
  Verdict on_data(const Endpoint& from, std::span<const std::uint8_t> msg, TimePoint now,
                  std::span<std::uint8_t> reply) noexcept;
  Verdict on_bye(const Endpoint& from, std::span<const std::uint8_t> msg) noexcept;
  Verdict switch_frame(Port& ingress, std::span<const std::uint8_t> frame, TimePoint now) noexcept;
  void learn(Port& ingress, MacAddr source, TimePoint now) noexcept;
  Verdict reply_unknown_session(std::uint32_t receiver_index, DropReason reason, TimePoint now,
                                std::span<std::uint8_t> reply) noexcept;
  void remove_port(PortIndex index);
  void count_tx(Port& port, std::size_t bytes) noexcept;

  SwitchConfig config_;
  PortTable ports_;
  Fdb fdb_;
  SwitchStats stats_;
  TimePoint reply_window_start_{};
  std::uint32_t replies_in_window_ = 0;
};

template <class Fn>
std::size_t SwitchCore::for_each_egress(const Verdict& v, Fn&& fn) noexcept {
  const std::size_t frame_size = v.frame.size();
  auto send_to = [&](Port& port) -> bool {
    if (frame_size > protocol::max_frame_size(port.mtu)) {
      stats_.drop(DropReason::egress_mtu);
      return false;
    }
    const protocol::DataHeader header{port.peer_index, port.tx_counter++};
    count_tx(port, protocol::kDataHeaderSize + frame_size);
    fn(static_cast<const Port&>(port), header);
    return true;
  };
  if (v.action == Verdict::Action::unicast) {
    Port* port = ports_.find(v.egress);
    return port != nullptr && send_to(*port) ? 1 : 0;
  }
  if (v.action != Verdict::Action::flood) return 0;
  std::size_t sent = 0;
  for (const PortIndex index : ports_.members(v.network)) {
    if (index == v.ingress) continue;
    if (Port* port = ports_.find(index); port != nullptr && send_to(*port)) ++sent;
  }
  stats_.flood_copies += sent;
  return sent;
}

template <class Fn>
void SwitchCore::for_each_port_bye(Fn&& fn) {
  std::uint8_t buf[protocol::kByeSize];
  ports_.for_each([&](Port& port) {
    const auto n = protocol::encode(protocol::Bye{port.peer_index, protocol::ByeReason::leaving}, buf);
    count_tx(port, n);
    fn(static_cast<const Port&>(port), std::span<const std::uint8_t>(buf, n));
  });
}

}  // namespace vswitch
