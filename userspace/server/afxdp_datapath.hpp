// The fast path: the steering XDP program on the interface, one AF_XDP socket and one polling
// worker thread per receive queue, and the switch core shared under one lock.
// A kernel UDP socket on the same port is the slow path, served by the server loop: what the
// XDP program leaves to the kernel (IP fragments, queues without a worker) still reaches the
// switch there, and workers send through it to a port whose underlay route they never saw.
#pragma once

#include <optional>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "afxdp_worker.hpp"
#include "server_loop.hpp"
#include "socket_datapath.hpp"
#include "vswitch/endpoint.hpp"
#include "vswitch/underlay_policy.hpp"
#include "vswitch/unique_fd.hpp"
#include "vswitch/xdp_program.hpp"

namespace vswitch {

struct AfxdpOptions {
  std::string iface;
  XdpMode mode = XdpMode::auto_select;
  std::uint32_t queues = 0;  // 0 = every receive queue of the interface
  bool force_copy = false;
  bool force_zero_copy = false;
  bool busy_poll = false;
  std::uint32_t batch = 64;
  // Entries per ring (fill, completion, RX, TX); the UMEM holds twice as many frames. Deep
  // rings absorb the moments a worker is not running (preemption, a stolen vCPU).
  std::uint32_t ring_size = 4096;
  // Which underlay sources may send tunnel packets: enforced by the XDP program and by the slow
  // path's socket (empty: every possible source).
  UnderlayPolicy underlay;
  // EVPN: VXLAN with the other servers at this local address (the XDP program steers it too).
  std::optional<Endpoint> vxlan;
};

class AfxdpDatapath final : public Datapath {
 public:
  static constexpr std::uint32_t kFrameSize = 4096;

  static Result<std::unique_ptr<AfxdpDatapath>> open(const Endpoint& listen, const SwitchConfig& config,
                                                     const AfxdpOptions& options);
  ~AfxdpDatapath() override;

  int fd() const noexcept override { return slow_path_.fd(); }
  void on_readable(EpochDomain::Reader* reader) noexcept override { slow_path_.on_readable(reader); }
  Status start(SharedSwitch& sw, HandshakeWorker& handshakes) override;
  void stop() noexcept override;
  int reply_socket() const noexcept override { return slow_path_.reply_socket(); }
  report::Facts facts() const override;
  void describe(metrics::Samples& out) const override;

  // Largest MTU whose frames fit one UMEM chunk with the outer headers.
  static std::uint16_t max_mtu();

 private:
  AfxdpDatapath(XdpProgram program, SocketDatapath slow_path, std::size_t max_ports, AfxdpOptions options);

  XdpProgram program_;
  SocketDatapath slow_path_;
  AfxdpOptions options_;
  PortRoutes routes_;
  std::vector<std::unique_ptr<AfxdpWorker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

// Receive queues of an interface (/sys/class/net/IF/queues/rx-*), 0 if unknown.
std::uint32_t count_rx_queues(const std::string& ifname);

}  // namespace vswitch
