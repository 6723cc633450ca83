#include "server_loop.hpp"

#include <poll.h>

#include <cerrno>
#include <cstring>

#include "vswitch/log.hpp"

namespace vswitch {
namespace {

std::string answer(const SwitchCore& core, const Datapath& datapath, std::string_view request) {
  auto format = report::Format::text;
  if (request.ends_with(" json")) {
    format = report::Format::json;
    request.remove_suffix(5);
  }
  const TimePoint now = Clock::now();
  if (request == "ports") return report::ports(core, now, format);
  if (request == "fdb") return report::fdb(core, now, format);
  if (request == "stats") return report::stats(core, datapath.facts(), format);
  return "error: unknown request '" + std::string(request) + "' (ports, fdb, stats)\n";
}

}  // namespace

int run_server_loop(SharedSwitch& sw, Datapath& datapath, ControlServer& control, SignalFd& signals) {
  constexpr auto kMaintenanceInterval = std::chrono::seconds(1);
  TimePoint next_maintenance = Clock::now() + kMaintenanceInterval;
  // fds[0] is ignored by poll when the datapath runs its own workers (fd -1).
  pollfd fds[3] = {{datapath.fd(), POLLIN, 0}, {control.fd(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
  for (;;) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_maintenance - Clock::now());
    const int rc = ::poll(fds, 3, wait.count() > 0 ? static_cast<int>(wait.count()) : 0);
    if (rc < 0 && errno != EINTR) {
      VS_ERROR("poll: %s", std::strerror(errno));
      return 0;
    }
    if (fds[2].revents != 0) {
      if (const int sig = signals.read(); sig != 0) return sig;
    }
    if (fds[0].revents != 0) datapath.on_readable(sw);
    if (fds[1].revents != 0) {
      control.serve_pending([&](std::string_view request) {
        std::lock_guard lock(sw.mutex);
        return answer(sw.core, datapath, request);
      });
    }
    if (const TimePoint now = Clock::now(); now >= next_maintenance) {
      std::lock_guard lock(sw.mutex);
      sw.core.expire(now);
      next_maintenance = now + kMaintenanceInterval;
    }
  }
}

}  // namespace vswitch
