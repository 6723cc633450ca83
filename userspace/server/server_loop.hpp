// The server's event loop: waits on the datapath (when it is loop-driven), the control socket
// and the signal fd, and runs the switch's once-a-second maintenance. Datapaths plug in through
// `Datapath`: the socket datapath is driven by this loop; the AF_XDP datapath runs its own
// polling workers, and this loop only serves control and maintenance.
#pragma once

#include <mutex>

#include "vswitch/control_socket.hpp"
#include "vswitch/report.hpp"
#include "vswitch/result.hpp"
#include "vswitch/signal_fd.hpp"
#include "vswitch/switch_core.hpp"

namespace vswitch {

// The switch core and the lock that serialises it. Workers take the lock once per batch (not
// per frame), so with 64-packet batches a lock round trip costs well under a nanosecond per
// packet; docs/architecture.md has the argument and the measurement.
struct SharedSwitch {
  explicit SharedSwitch(const SwitchConfig& config) : core(config) {}
  SwitchCore core;
  std::mutex mutex;
};

class Datapath {
 public:
  virtual ~Datapath() = default;
  virtual int fd() const noexcept { return -1; }              // loop-driven: readable when packets wait
  virtual void on_readable(SharedSwitch&) noexcept {}         // loop-driven: process what waits
  virtual Status start(SharedSwitch&) { return Ok{}; }        // threaded: start the workers
  virtual void stop() noexcept {}                             // threaded: stop and join them
  virtual void say_goodbye(SharedSwitch& sw) noexcept = 0;    // BYE to every port on shutdown
  virtual report::Facts facts() const = 0;                    // for `vswitchctl stats`
};

// Runs until SIGINT/SIGTERM. Returns the signal that stopped it.
int run_server_loop(SharedSwitch& sw, Datapath& datapath, ControlServer& control, SignalFd& signals);

}  // namespace vswitch
