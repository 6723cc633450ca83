// SIGINT and SIGTERM as a pollable file descriptor, so shutdown is handled in the event loop
// (clean BYEs, RAII teardown) instead of in an async signal handler.
#pragma once

#include <initializer_list>

#include "vswitch/result.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch {

class SignalFd {
 public:
  // Blocks SIGINT/SIGTERM (and `extra`, e.g. SIGUSR1) for the calling thread and threads it
  // creates later.
  static Result<SignalFd> create(std::initializer_list<int> extra = {});
  int fd() const noexcept { return fd_.get(); }
  // Reads one pending signal; returns its number, or 0 if none.
  int read() noexcept;

 private:
  UniqueFd fd_;
};

}  // namespace vswitch
