// The portable datapath: one UDP socket, batched recvmmsg/sendmmsg, everything in one thread.
// It only moves bytes; SwitchCore decides. Used where AF_XDP is unavailable, and as the
// reference the fast path is measured against.
//
// With offloads (the default) it receives with UDP_GRO, so a client's segment train arrives as
// one message that is cut back into datagrams, each switched on its own; and it sends with
// UDP_SEGMENT, so consecutive equal-sized datagrams to one port leave as one train. A train
// in, unicast, becomes a train out: ~45 frames per syscall instead of one.
#pragma once

#include <cstdint>

#include "server_loop.hpp"
#include "vswitch/endpoint.hpp"
#include "vswitch/result.hpp"
#include "vswitch/switch_core.hpp"
#include "vswitch/udp_batch.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch {

class SocketDatapath final : public Datapath {
 public:
  static constexpr std::size_t kBatch = 64;

  struct Offloads {
    bool udp_gro = true;
    bool udp_gso = true;
  };

  static Result<SocketDatapath> open(const Endpoint& listen, std::uint16_t mtu, Offloads offloads);

  int fd() const noexcept override { return socket_.get(); }
  // Drains what the socket holds (bounded, so control and timers still get their turn).
  void on_readable(SharedSwitch& sw) noexcept override;
  void say_goodbye(SharedSwitch& sw) noexcept override;
  report::Facts facts() const override;
  std::uint64_t received() const noexcept { return received_; }

 private:
  SocketDatapath(UniqueFd socket, std::uint16_t mtu, Offloads offloads);
  void handle(SwitchCore& core, const Endpoint& from, std::span<const std::uint8_t> datagram,
              TimePoint now) noexcept;
  void flush(SwitchCore& core) noexcept;

  UniqueFd socket_;
  bool gro_;
  std::size_t max_datagram_;
  UdpRxBatch rx_;
  UdpTxBatch tx_;
  std::uint64_t received_ = 0;           // datagrams
  std::uint64_t received_messages_ = 0;  // receive messages (fewer with GRO)
};

}  // namespace vswitch
