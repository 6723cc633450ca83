// The generator's AF_XDP transmit path: whole Ethernet/IPv4/UDP frames written into a UMEM and
// handed to the device in batches. It skips the kernel's UDP/IP send path, so the generator can
// offer more than the datapath under test forwards (a UDP socket generator tops out near the
// AF_XDP datapaths' own rate here, and then it, not the switch, is what gets measured).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vswitch/result.hpp"
#include "vswitch/underlay.hpp"
#include "vswitch/xsk_socket.hpp"

namespace vswitch::bench {

class AfxdpSender {
 public:
  static Result<AfxdpSender> open(const std::string& iface);

  // Sends each message behind the route's headers; returns how many the TX ring took (fewer
  // when every UMEM frame is still in flight).
  std::uint32_t send(const underlay::UnderlayRoute& route, std::span<const std::span<const std::uint8_t>> messages) noexcept;
  // Waits (bounded) until the kernel has taken and completed what was queued.
  void drain() noexcept;
  std::uint64_t completed() const noexcept { return socket_.completed(); }

 private:
  explicit AfxdpSender(XskSocket socket) : socket_(std::move(socket)) {}
  XskSocket socket_;
};

// The route from a local UDP socket to its connected peer, as AF_XDP must write it: our MAC
// (from sysfs), the peer's (from the neighbour table, so the peer must have been talked to
// already), both addresses and ports. IPv4 only.
Result<underlay::UnderlayRoute> route_of_connected_socket(int fd, const std::string& iface);

}  // namespace vswitch::bench
