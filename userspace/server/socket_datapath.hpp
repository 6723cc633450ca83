// The portable datapath: one UDP socket, batched recvmmsg/sendmmsg, everything in one thread.
// It only moves bytes; SwitchCore decides. Used where AF_XDP is unavailable, and as the
// reference the fast path is measured against.
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

  static Result<SocketDatapath> open(const Endpoint& listen, std::uint16_t mtu);
  // Serves an already bound UDP socket (the AF_XDP datapath's slow path).
  static SocketDatapath adopt(UniqueFd socket, std::uint16_t mtu);

  int fd() const noexcept override { return socket_.get(); }
  // Drains what the socket holds (bounded, so control and timers still get their turn).
  void on_readable(SharedSwitch& sw) noexcept override;
  void say_goodbye(SharedSwitch& sw) noexcept override;
  report::Facts facts() const override;
  std::uint64_t received() const noexcept { return received_; }

 private:
  SocketDatapath(UniqueFd socket, std::size_t buffer_size);
  void handle(SwitchCore& core, const Endpoint& from, std::span<const std::uint8_t> datagram,
              TimePoint now) noexcept;
  void flush(SwitchCore& core) noexcept;

  UniqueFd socket_;
  UdpRxBatch rx_;
  UdpTxBatch tx_;
  std::uint64_t received_ = 0;
};

}  // namespace vswitch
