// The server's event loop: waits on the datapath (when it is loop-driven) and the signal fd,
// and runs the once-a-second maintenance (MAC aging in slices). The control socket is served by
// a thread of its own (control_socket.hpp) with the answers this file renders. Datapaths plug
// in through `Datapath`: the socket datapath is driven by this loop; the AF_XDP datapath runs
// its own polling workers, and this loop serves its slow-path socket and maintenance.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "handshake_worker.hpp"
#include "shared_switch.hpp"
#include "vswitch/control_socket.hpp"
#include "vswitch/report.hpp"
#include "vswitch/result.hpp"
#include "vswitch/signal_fd.hpp"

namespace vswitch {

// A goodbye to one port: v2 an encrypted CONTROL BYE, v1 a plain BYE.
struct Goodbye {
  Keypair* keypair = nullptr;  // v2: seal with it
  Endpoint endpoint;
  std::uint32_t client_index = 0;  // v1: the BYE's receiver index
  protocol::v2::ByeReason reason = protocol::v2::ByeReason::shutdown;
};
// Under the lock: goodbyes for the given ports (none when `ports` is empty: a reload that
// revokes nobody must not say goodbye to everyone), or for every port.
std::vector<Goodbye> collect_goodbyes(SwitchState& state, std::span<const PortIndex> ports,
                                      protocol::v2::ByeReason reason);
std::vector<Goodbye> collect_all_goodbyes(SwitchState& state, protocol::v2::ByeReason reason);
// Outside the lock: seals and sends them through `fd`.
void send_goodbyes(int fd, std::span<const Goodbye> goodbyes) noexcept;

class Datapath {
 public:
  virtual ~Datapath() = default;
  virtual int fd() const noexcept { return -1; }                   // loop-driven: readable when packets wait
  virtual void on_readable(EpochDomain::Reader* reader) noexcept = 0;  // process what waits
  virtual Status start(SharedSwitch& sw, HandshakeWorker& handshakes) = 0;
  virtual void stop() noexcept {}                                  // threaded: stop and join
  virtual int reply_socket() const noexcept = 0;                   // where handshake replies leave
  virtual report::Facts facts() const = 0;                         // what it is (strings)
  virtual void describe(metrics::Samples& out) const = 0;          // what it counted (lock-free)
};

struct ServerLoopHooks {
  // `vswitchctl reload` and SIGHUP: a note on success (maybe empty), else the error (old settings kept).
  std::function<Result<std::string>()> reload;
  // Once the datapath and the control socket serve (systemd's READY=1).
  std::function<void()> ready;
  // Each pass of the loop, at least once a second (systemd's watchdog).
  std::function<void(TimePoint)> tick;
  // For `vswitchctl show`: public key, listen address, protocol.
  report::Facts identity;
  // In each 1 s maintenance: `capture` under the switch lock (copies, never allocates or waits),
  // `publish` after releasing it (the metrics' per-port series).
  std::function<void(const SwitchState&)> capture;
  // Samples of parts outside the switch (EVPN) for `vswitchctl stats` and the metrics.
  std::function<void(metrics::Samples&)> more_samples;
  std::function<void()> publish;
};

// What `vswitchctl stats` and the Prometheus endpoint show: the datapath's counters, then the
// switch's, the control thread's and the lock's. Lock-free.
// `more` adds the samples of parts outside the switch (EVPN), if any.
metrics::Samples collect_samples(const SharedSwitch& sw, const Datapath& datapath,
                                 const std::function<void(metrics::Samples&)>& more = {});

// Runs until SIGINT/SIGTERM. Returns the signal that stopped it.
int run_server_loop(SharedSwitch& sw, Datapath& datapath, HandshakeWorker& handshakes, ControlServer& control,
                    SignalFd& signals, const ServerLoopHooks& hooks);

}  // namespace vswitch
