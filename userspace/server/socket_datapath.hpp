// The portable datapath: one UDP socket, batched recvmmsg/sendmmsg, everything in the server
// loop's thread (handshakes go to the control thread). It only moves bytes between the phases
// of data_plane.hpp. Used where AF_XDP is unavailable, and as the reference the fast path is
// measured against.
//
// With offloads (the default) it receives with UDP_GRO, so a client's segment train arrives as
// one message that is cut back into datagrams, each opened and switched on its own; and it sends
// with UDP_SEGMENT, so consecutive equal-sized datagrams to one port leave as one train. Known
// unicast is resealed in the receive buffer; flood copies and replies are sealed in an arena.
//
// EVPN (enable_vxlan): VXLAN with the other servers on a socket of its own, drained and flushed
// beside the tunnel socket; fd() is then an epoll set of both.
#pragma once

#include <optional>

#include <cstdint>
#include <vector>

#include "shared_switch.hpp"
#include "vswitch/counter.hpp"
#include "vswitch/data_plane.hpp"
#include "server_loop.hpp"
#include "vswitch/endpoint.hpp"
#include "vswitch/result.hpp"
#include "vswitch/udp_batch.hpp"
#include "vswitch/underlay_policy.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch {

class SocketDatapath final : public Datapath {
 public:
  static constexpr std::size_t kBatch = 64;

  struct Offloads {
    bool udp_gro = true;
    bool udp_gso = true;
  };

  // `policy`: whose datagrams are read at all; the others are dropped first thing and counted
  // (bad_source_address, denied_source).
  static Result<SocketDatapath> open(const Endpoint& listen, std::uint16_t mtu, std::size_t max_ports, Offloads offloads,
                                     UnderlayPolicy policy);

  // EVPN: receive and send VXLAN on `local` (the VTEP address and the VXLAN port).
  Status enable_vxlan(const Endpoint& local);

  int fd() const noexcept override { return epoll_.valid() ? epoll_.get() : socket_.get(); }
  // Drains what the socket holds (bounded, so control and timers still get their turn).
  void on_readable(EpochDomain::Reader* reader) noexcept override;
  Status start(SharedSwitch& sw, HandshakeWorker& handshakes) override;
  int reply_socket() const noexcept override { return socket_.get(); }
  report::Facts facts() const override;
  void describe(metrics::Samples& out) const override;
  std::uint64_t received() const noexcept { return read(received_); }
  std::uint64_t vxlan_received() const noexcept { return read(vxlan_received_); }

 private:
  SocketDatapath(UniqueFd socket, std::uint16_t mtu, std::size_t max_ports, Offloads offloads, UnderlayPolicy policy);
  // Receives and opens one batch from the tunnel socket; false when it was not full (drained).
  bool receive_tunnel(TimePoint& now) noexcept;
  bool receive_vxlan(TimePoint& now) noexcept;
  void process(TimePoint now) noexcept;
  void transmit() noexcept;
  std::span<std::uint8_t> arena_take(std::size_t n) noexcept;
  void flush() noexcept;

  UniqueFd socket_;
  bool gro_;
  std::size_t max_datagram_;
  std::size_t max_ports_;
  UnderlayPolicy policy_;
  UdpRxBatch rx_;
  UdpTxBatch tx_;
  UniqueFd vxlan_socket_;  // EVPN: VXLAN with the other servers (invalid: none)
  UniqueFd epoll_;
  std::optional<UdpRxBatch> vxlan_rx_;
  UdpTxBatch vxlan_tx_;
  SharedSwitch* sw_ = nullptr;
  HandshakeWorker* handshakes_ = nullptr;
  std::vector<Inbound> inbound_;
  std::vector<Outbound> plan_;
  std::vector<PortEvent> events_;
  std::vector<std::uint8_t> arena_;  // flood copies and replies until the next flush
  std::size_t arena_used_ = 0;
  DropTally drops_;
  // Read by the control socket's thread (facts()): relaxed atomics, one writer.
  Counter received_;         // datagrams
  Counter received_messages_;  // receive messages (fewer with GRO)
  Counter vxlan_received_;     // EVPN: VXLAN datagrams on the VXLAN socket
};

}  // namespace vswitch
