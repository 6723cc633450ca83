// systemd's readiness protocol (sd_notify(3)), written in-tree: a datagram of "KEY=VALUE" lines
// to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
// Without $NOTIFY_SOCKET every call does nothing, so the programs run the same outside systemd.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "vswitch/unique_fd.hpp"

namespace vswitch {

class SystemdNotifier {
 public:
  // Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID.
  SystemdNotifier();

  bool enabled() const noexcept { return fd_.valid(); }
  // Sends `state` ("READY=1\nSTATUS=..."). False if it could not be sent (or notify is off).
  bool notify(std::string_view state) const noexcept;

  // The watchdog's timeout when systemd asked this process for pings (WatchdogSec=).
  std::optional<std::chrono::microseconds> watchdog_timeout() const noexcept { return watchdog_; }
  // WATCHDOG=1 when half the timeout has passed since the last one (call it often).
  void watchdog_tick(std::chrono::steady_clock::time_point now) noexcept;

  // RELOADING=1 with MONOTONIC_USEC, as systemd 253+ wants it (older ones ignore the field).
  void reloading() const noexcept;

 private:
  UniqueFd fd_;
  std::optional<std::chrono::microseconds> watchdog_;
  std::chrono::steady_clock::time_point last_watchdog_{};
  char address_[108] = {};
  unsigned address_len_ = 0;
};

// Parses WATCHDOG_USEC / WATCHDOG_PID as sd_watchdog_enabled(3) does: the timeout when it is
// positive and meant for `pid` (no WATCHDOG_PID means this process).
std::optional<std::chrono::microseconds> parse_watchdog(const char* usec, const char* for_pid, long pid) noexcept;

}  // namespace vswitch
