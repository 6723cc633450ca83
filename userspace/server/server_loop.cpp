#include "server_loop.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vswitch/data_plane.hpp"
#include "vswitch/log.hpp"

namespace vswitch {
namespace {

std::string answer(SharedSwitch& sw, const Datapath& datapath, const ServerLoopHooks& hooks, std::string_view request) {
  auto format = report::Format::text;
  if (request.ends_with(" json")) {
    format = report::Format::json;
    request.remove_suffix(5);
  }
  const TimePoint now = Clock::now();
  // Snapshot under the lock, render after it: a slow reader never holds the switch.
  if (request == "ports") {
    std::vector<report::PortRow> rows;
    {
      std::lock_guard lock(sw.mutex);
      rows = report::snapshot_ports(sw.state, now);
    }
    return report::ports(rows, format);
  }
  if (request == "fdb") {
    // In pieces, the lock released between them: a table of millions never stalls the switch.
    constexpr std::size_t kPiece = 4096;
    std::vector<report::FdbRow> rows;
    for (std::size_t at = 0, end = 1; at < end;) {
      std::lock_guard lock(sw.mutex);
      end = sw.state.core.fdb().max_entries();
      at = report::snapshot_fdb(sw.state, now, at, kPiece, rows);
    }
    return report::fdb(std::move(rows), format);
  }
  if (request == "show") {
    std::vector<report::PortRow> rows;
    {
      std::lock_guard lock(sw.mutex);
      rows = report::snapshot_ports(sw.state, now);
    }
    return report::show(hooks.identity, datapath.facts(), report::snapshot_stats(sw.state), rows, format);
  }
  if (request == "stats") return report::stats(sw.state.config.secure, datapath.facts(), collect_samples(sw, datapath, hooks.more_samples), format);
  if (request == "reload") {
    if (!hooks.reload) return "error: nothing to reload\n";
    auto done = hooks.reload();
    if (!done) return "error: " + done.error().message + "\n";
    return done->empty() ? "ok\n" : "ok (" + *done + ")\n";
  }
  return "error: unknown request '" + std::string(request) + "' (ports, fdb, stats, reload)\n";
}

// MAC aging in slices of kAgingSlice pool entries, each under its own hold of the lock, so a
// table of 16 M entries never holds the switch for more than a slice (measured: 0.1-0.2 ms with
// half the slice expiring, BM_FdbSweepSlice1024).
// Each tick walks a tenth of the table: an idle entry stops answering at once (lookups check
// its age), and its room comes back within ten seconds.
void age_macs(SharedSwitch& sw, TimePoint now) {
  constexpr std::size_t kAgingSlice = 1024;
  std::size_t left = 0;
  {
    std::lock_guard lock(sw.mutex);
    left = sw.state.core.fdb().max_entries() / 10 + 1;
  }
  while (left > 0) {
    const std::size_t slice = std::min(left, kAgingSlice);
    std::lock_guard lock(sw.mutex);
    sw.state.core.expire(now, slice);
    left -= slice;
  }
}

}  // namespace

metrics::Samples collect_samples(const SharedSwitch& sw, const Datapath& datapath,
                                 const std::function<void(metrics::Samples&)>& more) {
  metrics::Samples samples;
  datapath.describe(samples);
  sw.describe(samples);
  if (more) more(samples);
  return samples;
}

namespace {

void add_goodbye(SwitchState& state, PortIndex port, protocol::v2::ByeReason reason, std::vector<Goodbye>& out) {
  const PeerSession& p = state.sessions.peer(port);
  if (p.port != port || p.endpoint.empty() || p.current == nullptr) return;  // (a VTEP has no session)
  out.push_back({p.secure ? p.current : nullptr, p.endpoint, p.client_index, reason});
}

}  // namespace

std::vector<Goodbye> collect_goodbyes(SwitchState& state, std::span<const PortIndex> ports,
                                      protocol::v2::ByeReason reason) {
  std::vector<Goodbye> out;
  for (const PortIndex port : ports) add_goodbye(state, port, reason, out);
  return out;
}

std::vector<Goodbye> collect_all_goodbyes(SwitchState& state, protocol::v2::ByeReason reason) {
  std::vector<Goodbye> out;
  state.core.ports().for_each([&](const Port& p) { add_goodbye(state, p.index, reason, out); });
  return out;
}

void send_goodbyes(int fd, std::span<const Goodbye> goodbyes) noexcept {
  for (const Goodbye& g : goodbyes) {
    std::uint8_t buf[64];
    std::size_t n = 0;
    if (g.keypair != nullptr) {
      const auto counter = g.keypair->take_counters(1);
      if (!counter) continue;
      const std::size_t body = protocol::v2::encode(protocol::v2::Control{protocol::v2::ControlOp::bye, 0, g.reason},
                                                    std::span(buf).subspan(protocol::v2::kHeaderSize));
      n = seal(*g.keypair, MessageKind::control, *counter, buf, body);
    } else {
      n = protocol::encode(protocol::Bye{g.client_index, protocol::ByeReason::leaving}, buf);
    }
    ::sendto(fd, buf, n, MSG_DONTWAIT, g.endpoint.sockaddr_ptr(), g.endpoint.size());
  }
}

int run_server_loop(SharedSwitch& sw, Datapath& datapath, HandshakeWorker& handshakes, ControlServer& control,
                    SignalFd& signals, const ServerLoopHooks& hooks) {
  (void)handshakes;
  constexpr auto kMaintenanceInterval = std::chrono::seconds(1);
  EpochDomain::Reader* reader = sw.state.epochs.register_reader();
  std::vector<PortEvent> events;
  TimePoint next_maintenance = Clock::now() + kMaintenanceInterval;
  // The control thread answers `reload` too, which seals goodbyes with keypairs it has just retired:
  // online as an epoch reader while it answers, it keeps maintenance from reclaiming them under it.
  EpochDomain::Reader* control_reader = sw.state.epochs.register_reader();
  if (auto started = control.start([&, control_reader](std::string_view request) {
        EpochReaderScope online(control_reader);
        return answer(sw, datapath, hooks, request);
      });
      !started) {
    VS_ERROR("%s", started.error().message.c_str());
    return 0;
  }
  struct StopControlOnReturn {  // the handler uses this function's references
    ControlServer& control;
    ~StopControlOnReturn() { control.stop(); }
  } stop_control{control};
  if (hooks.ready) hooks.ready();
  // fds[0] is ignored by poll when the datapath runs its own workers (fd -1).
  pollfd fds[2] = {{datapath.fd(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
  for (;;) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_maintenance - Clock::now());
    const int rc = ::poll(fds, 2, wait.count() > 0 ? static_cast<int>(wait.count()) : 0);
    if (rc < 0 && errno != EINTR) {
      VS_ERROR("poll: %s", std::strerror(errno));
      return 0;
    }
    if (fds[1].revents != 0) {
      const int sig = signals.read();
      if (sig == SIGHUP) {
        if (hooks.reload) {
          const auto done = hooks.reload();
          if (!done) VS_ERROR("reload (SIGHUP) failed, old settings kept: %s", done.error().message.c_str());
        }
      } else if (sig != 0) {
        return sig;
      }
    }
    if (fds[0].revents != 0) datapath.on_readable(reader);
    if (hooks.tick) hooks.tick(Clock::now());
    if (const TimePoint now = Clock::now(); now >= next_maintenance) {
      {
        std::lock_guard lock(sw.mutex);
        sw.state.expire(now, events);
        if (hooks.capture) hooks.capture(sw.state);
      }
      if (hooks.publish) hooks.publish();
      age_macs(sw, now);
      log_events(events);
      next_maintenance = now + kMaintenanceInterval;
    }
  }
}

}  // namespace vswitch
