// The server's event loop: waits on the datapath, the control socket and the signal fd, and
// runs the switch's once-a-second maintenance. A datapath plugs in through `Datapath`.
#pragma once

#include "vswitch/control_socket.hpp"
#include "vswitch/report.hpp"
#include "vswitch/signal_fd.hpp"
#include "vswitch/switch_core.hpp"

namespace vswitch {

class Datapath {
 public:
  virtual ~Datapath() = default;
  virtual int fd() const noexcept = 0;                       // readable when packets wait
  virtual void on_readable(SwitchCore& core) noexcept = 0;  // process what is waiting
  virtual void say_goodbye(SwitchCore& core) noexcept = 0;  // BYE to every port on shutdown
  virtual report::Facts facts() const = 0;                  // for `vswitchctl stats`
};

// Runs until SIGINT/SIGTERM. Returns the signal that stopped it.
int run_server_loop(SwitchCore& core, Datapath& datapath, ControlServer& control, SignalFd& signals);

}  // namespace vswitch
