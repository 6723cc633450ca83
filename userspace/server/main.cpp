// vswitch: the server. A learning Ethernet switch whose ports are vport clients over UDP.
#include <CLI/CLI.hpp>

#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <sodium.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "afxdp_datapath.hpp"
#include "handshake_worker.hpp"
#include "server_loop.hpp"
#include "server_metrics.hpp"
#include "server_options.hpp"
#include "evpn_sync.hpp"
#include "socket_datapath.hpp"
#include "vswitch/cli_options.hpp"
#include "vswitch/endpoint.hpp"
#include "vswitch/key_file.hpp"
#include "vswitch/log.hpp"
#include "vswitch/metrics_server.hpp"
#include "vswitch/network_id.hpp"
#include "vswitch/vxlan.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/systemd_notify.hpp"
#include "vswitch/underlay_policy.hpp"

using namespace vswitch;

namespace {


int fail(const std::string& message) {
  std::fprintf(stderr, "vswitch: %s\n", message.c_str());
  return 1;
}

// The interface that holds the listen address, for --datapath auto without --iface.
std::string interface_with_address(const Endpoint& listen) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  std::string found;
  for (ifaddrs* a = list; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != listen.family()) continue;
    const socklen_t len = a->ifa_addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (Endpoint::from_sockaddr(a->ifa_addr, len).same_address(listen) && (a->ifa_flags & IFF_LOOPBACK) == 0)
      found = a->ifa_name;
  }
  freeifaddrs(list);
  return found;
}

// `vxlan`: EVPN's VXLAN with the other servers at this local address, if any.
Result<std::unique_ptr<Datapath>> open_socket_datapath(const ServerOptions& o, const Endpoint& listen,
                                                       const SwitchConfig& config, const UnderlayPolicy& underlay,
                                                       const std::optional<Endpoint>& vxlan) {
  const SocketDatapath::Offloads offloads{.udp_gro = !o.no_offload && !o.no_udp_gro,
                                          .udp_gso = !o.no_offload && !o.no_udp_gso};
  auto dp = SocketDatapath::open(listen, config.mtu, config.max_ports, offloads, underlay);
  if (!dp) return dp.error();
  if (vxlan)
    if (auto s = dp->enable_vxlan(*vxlan); !s) return s.error();
  return std::unique_ptr<Datapath>(new SocketDatapath(std::move(dp).value()));
}

// --datapath: socket, afxdp, or auto (AF_XDP when it can attach, otherwise sockets; says why).
Result<std::unique_ptr<Datapath>> open_datapath(const ServerOptions& o, const Endpoint& listen,
                                                const SwitchConfig& config, const UnderlayPolicy& underlay,
                                                const std::optional<Endpoint>& vxlan) {
  if (o.datapath == "socket") return open_socket_datapath(o, listen, config, underlay, vxlan);
  AfxdpOptions xo;
  xo.iface = o.iface;
  xo.mode = o.xdp_mode == "native" ? XdpMode::native : o.xdp_mode == "generic" ? XdpMode::generic : XdpMode::auto_select;
  xo.queues = o.queues == "all" ? 0 : static_cast<std::uint32_t>(std::stoul(o.queues));
  xo.force_copy = o.copy;
  xo.force_zero_copy = o.zero_copy;
  xo.busy_poll = o.busy_poll;
  xo.batch = o.batch;
  xo.ring_size = o.ring_size;
  xo.underlay = underlay;
  xo.vxlan = vxlan;
  if (xo.iface.empty() && !listen.is_any_address()) xo.iface = interface_with_address(listen);
  if (xo.iface.empty()) {
    if (o.datapath == "afxdp") return Error{"--datapath afxdp needs --iface (or a --listen address on an interface)"};
    VS_INFO("datapath auto: no --iface and listening on %s; using the socket datapath",
            listen.is_any_address() ? "the any-address" : "an address of no interface");
    return open_socket_datapath(o, listen, config, underlay, vxlan);
  }
  auto dp = AfxdpDatapath::open(listen, config, xo);
  if (dp) return std::unique_ptr<Datapath>(std::move(dp).value());
  if (o.datapath == "afxdp") return dp.error();
  VS_WARN("datapath auto: AF_XDP unavailable on %s (%s); using the socket datapath", xo.iface.c_str(),
          dp.error().message.c_str());
  return open_socket_datapath(o, listen, config, underlay, vxlan);
}

// The members file's mac= pins, as the switch core takes them.
std::vector<MacPin> pins_of(const MemberDirectory& directory) {
  std::vector<MacPin> pins;
  for (const Member& m : directory.members())
    for (const MacAddr mac : m.macs) pins.push_back({m.network, mac.to_u64(), member_owner(m.key)});
  return pins;
}

// --evpn-vtep ADDR, --evpn-vni NETWORK=VNI...
Result<EvpnOptions> parse_evpn_options(const ServerOptions& o) {
  EvpnOptions e;
  const auto vtep = Endpoint::parse_numeric(o.evpn_vtep, static_cast<std::uint16_t>(o.evpn_port));
  if (!vtep || vtep->is_any_address())
    return Error{"bad --evpn-vtep '" + o.evpn_vtep + "': expected this server's underlay address (A.B.C.D or [V6])"};
  e.vtep = vtep->with_port(static_cast<std::uint16_t>(o.evpn_port));
  e.shadow_port = static_cast<std::uint16_t>(o.evpn_shadow_port);
  if (e.shadow_port == o.evpn_port) return Error{"--evpn-shadow-port must differ from --evpn-port"};
  for (const std::string& m : o.evpn_vni) {
    const auto eq = m.find('=');
    const auto network = eq == std::string::npos ? std::nullopt : parse_network_id(std::string_view(m).substr(0, eq));
    const auto vni = eq == std::string::npos ? std::nullopt : parse_network_id(std::string_view(m).substr(eq + 1));
    if (!network || !vni || *vni > vxlan::kMaxVni)
      return Error{"bad --evpn-vni '" + m + "': expected NETWORK=VNI, the VNI 0.." + std::to_string(vxlan::kMaxVni)};
    e.vnis[*network] = static_cast<std::uint32_t>(*vni);
  }
  return e;
}

// A new members file, read and checked (nothing applied yet).
Result<std::shared_ptr<const MemberDirectory>> read_members(const std::string& path) {
  auto list = load_members_file(path);
  if (!list) return list.error();
  return std::make_shared<const MemberDirectory>(std::move(list).value());
}

// Members that are gone are told (BYE, revoked) and lose their ports and MAC entries at once;
// everyone else keeps their sessions.
void apply_members(const std::shared_ptr<const MemberDirectory>& directory, SharedSwitch& sw,
                   HandshakeWorker& handshakes, Datapath& datapath) {
  handshakes.set_members(directory);
  const std::vector<MacPin> pins = pins_of(*directory);  // allocated before the lock
  std::vector<PortEvent> events;
  std::vector<Goodbye> goodbyes;
  {
    std::lock_guard lock(sw.mutex);
    std::vector<PortIndex> gone;
    sw.state.core.ports().for_each([&](const Port& p) {
      const PeerSession& peer = sw.state.sessions.peer(p.index);
      if (peer.secure && directory->find(peer.key, p.network) == nullptr) gone.push_back(p.index);
    });
    goodbyes = collect_goodbyes(sw.state, gone, protocol::v2::ByeReason::revoked);
    for (const PortIndex port : gone) sw.state.remove_port(port, PortEvent::Kind::revoked, events);
    sw.state.core.set_pins(pins, Clock::now());
  }
  // The retired keypairs stay intact until this thread's next maintenance tick reclaims them.
  send_goodbyes(datapath.reply_socket(), goodbyes);
  for (const auto& e : events) VS_INFO("member %s (port %u) is no longer in the members file: revoked", e.who.c_str(), e.port);
}

void apply_limits(const ServerOptions& o, SharedSwitch& sw) {
  std::lock_guard lock(sw.mutex);
  sw.state.core.set_limits(o.port_max_macs, o.network_max_macs, std::chrono::seconds(o.fdb_aging), o.flood_limit);
  sw.state.config.port_timeout = std::chrono::seconds(o.port_timeout);
}

// SIGHUP and `vswitchctl reload` (one code path): the command line and its --config file are
// read again. The members file, the MAC table's limits and aging, storm control, the port
// timeout and the log level take effect at once, without touching anyone's session; an option
// that only a restart can change is named in the answer and keeps its running value. Nothing
// changes unless everything read is valid: an error is the answer, and the old settings stay.
Result<std::string> reload(int argc, char** argv, ServerOptions& running, SharedSwitch& sw, HandshakeWorker& handshakes,
                           Datapath& datapath) {
  // SIGHUP (the server loop) and `vswitchctl reload` (the control thread) may overlap: one at a
  // time, so the files read last are the ones in force.
  static std::mutex one_reload_at_a_time;
  std::lock_guard serial(one_reload_at_a_time);
  ServerOptions fresh;
  CLI::App app;
  add_options(app, fresh);
  std::optional<CLI::Error> help;
  if (std::string error = parse_options(app, argc, argv, help); !error.empty()) return Error{std::move(error)};
  std::shared_ptr<const MemberDirectory> directory;
  if (!running.insecure && !fresh.insecure) {
    if (fresh.members.empty()) return Error{"--members: no members file any more"};
    auto read = read_members(fresh.members);
    if (!read) return read.error();
    directory = std::move(read).value();
  }
  const std::vector<std::string> later = restart_needed(running, fresh);
  apply_limits(fresh, sw);
  log::set_level(*log::parse_level(fresh.log_level));
  if (directory) apply_members(directory, sw, handshakes, datapath);
  running.members = fresh.members;
  running.fdb_aging = fresh.fdb_aging;
  running.port_max_macs = fresh.port_max_macs;
  running.network_max_macs = fresh.network_max_macs;
  running.flood_limit = fresh.flood_limit;
  running.port_timeout = fresh.port_timeout;
  running.log_level = fresh.log_level;
  std::string note;
  for (const std::string& name : later) note += (note.empty() ? "" : ", ") + name;
  if (!note.empty()) note = "changed but kept until a restart: " + note;
  VS_INFO("reloaded%s%s%s", directory ? " (members: " : "",
          directory ? (std::to_string(directory->members().size()) + ")").c_str() : "",
          note.empty() ? "" : ("; " + note).c_str());
  return note;
}

}  // namespace

int main(int argc, char** argv) {
  ServerOptions o;
  CLI::App app{"vswitch: a layer-2 switch whose ports are vport clients across the internet"};
  add_options(app, o);
  if (const int rc = parse_command_line(app, argc, argv, "vswitch"); rc >= 0) return rc;

  log::set_level(*log::parse_level(o.log_level));
  // From here on no thread waits for stderr (a pipe to journald may be full); the destructor
  // writes what is still queued.
  log::AsyncLogWriter log_writer;
  if (sodium_init() < 0) return fail("libsodium failed to initialise");
  const bool secure = !o.insecure;
  if (secure && (o.key_file.empty() || o.members.empty()))
    return fail(
        "needs --key-file and --members (or --insecure for the unauthenticated protocol v1). Make a key with\n"
        "  umask 077; vswitchctl genkey > server.key; vswitchctl pubkey < server.key\n"
        "and list each client's public key in the members file, one '<public key> <network id> [name]' per line.");
  if (o.cipher == "aes-256-gcm" && !aes256gcm_available())
    return fail("--cipher aes-256-gcm: this CPU has no AES-NI, so libsodium cannot run AES-256-GCM");

  const auto listen = Endpoint::parse_numeric(o.listen, protocol::kDefaultPort);
  if (!listen) return fail("bad --listen '" + o.listen + "': expected ADDR:PORT or [ADDR6]:PORT");
  UnderlayPolicy underlay;
  underlay.set_own_address(*listen);
  for (const auto& prefix : o.allow_underlay)
    if (auto s = underlay.add(prefix, UnderlayVerdict::allow); !s) return fail("--allow-underlay: " + s.error().message);
  for (const auto& prefix : o.deny_underlay)
    if (auto s = underlay.add(prefix, UnderlayVerdict::deny); !s) return fail("--deny-underlay: " + s.error().message);

  std::optional<handshake::ServerHandshake> server_key;
  std::shared_ptr<const MemberDirectory> members;
  if (secure) {
    std::string warning;
    auto key = load_private_key_file(o.key_file, warning);
    if (!key) return fail(key.error().message);
    if (!warning.empty()) VS_WARN("%s", warning.c_str());
    server_key.emplace(key->bytes());
    auto list = load_members_file(o.members);
    if (!list) return fail(list.error().message);
    members = std::make_shared<const MemberDirectory>(std::move(list).value());
  }
  const std::string public_key = server_key ? key_to_base64(server_key->public_key()) : "";

  SwitchConfig config;
  config.max_ports = o.max_ports;
  config.fdb_max = o.fdb_max;
  config.port_max_macs = o.port_max_macs;
  config.network_max_macs = o.network_max_macs;
  config.flood_per_second = o.flood_limit;
  config.fdb_aging = std::chrono::seconds(o.fdb_aging);
  config.mtu = static_cast<std::uint16_t>(o.mtu);
  SessionConfig sessions;
  sessions.secure = secure;
  sessions.port_timeout = std::chrono::seconds(o.port_timeout);
  HandshakeConfig hc;
  hc.mtu = config.mtu;
  hc.allow_gcm = o.cipher != "chacha20-poly1305";
  hc.require_gcm = o.cipher == "aes-256-gcm";

  route_bpf_logs_to_logger();
  auto signals = SignalFd::create({SIGHUP});  // before any thread, so every thread inherits the mask
  if (!signals) return fail(signals.error().message);
  std::optional<EvpnOptions> evpn_options;
  if (!o.evpn_vtep.empty()) {
    auto parsed = parse_evpn_options(o);
    if (!parsed) return fail(parsed.error().message);
    evpn_options = std::move(parsed).value();
  }
  std::optional<Endpoint> vxlan_local;
  if (evpn_options) vxlan_local = evpn_options->vtep;
  auto datapath = open_datapath(o, *listen, config, underlay, vxlan_local);
  if (!datapath) return fail(datapath.error().message);
  std::optional<MetricsServer> metrics;
  if (!o.metrics.empty()) {
    const auto at = Endpoint::parse_numeric(o.metrics, 0);
    if (!at || at->port() == 0) return fail("bad --metrics '" + o.metrics + "': expected ADDR:PORT or [ADDR6]:PORT");
    auto server = MetricsServer::listen(*at);
    if (!server) return fail(server.error().message);
    metrics.emplace(std::move(server).value());
  }
  // Last: a control socket that answers means the switch is ready for traffic.
  auto control = ControlServer::listen(o.control);
  if (!control) return fail(control.error().message);

  SharedSwitch sw(config, sessions);
  if (members) sw.state.core.set_pins(pins_of(*members), Clock::now());
  std::unique_ptr<EvpnSync> evpn;
  if (evpn_options) {
    sw.state.vxlan_port = static_cast<std::uint16_t>(o.evpn_port);
    auto opened = EvpnSync::open(*evpn_options, sw);
    if (!opened) return fail(opened.error().message);
    evpn = std::move(opened).value();
  }
  HandshakeWorker handshakes(sw, hc, std::move(server_key), members);
  handshakes.set_reply_socket((*datapath)->reply_socket());
  handshakes.start();
  if (auto s = (*datapath)->start(sw, handshakes); !s) return fail(s.error().message);
  if (evpn) {
    std::vector<std::uint64_t> networks;
    if (members)
      for (const Member& m : members->members()) networks.push_back(m.network);
    std::sort(networks.begin(), networks.end());
    networks.erase(std::unique(networks.begin(), networks.end()), networks.end());
    if (auto s = evpn->start(networks); !s) return fail(s.error().message);
  }
  SystemdNotifier systemd;
  const auto facts = (*datapath)->facts();
  const std::string status = std::string("listening on ") + listen->to_string() + ", datapath " + facts.front().second;
  ServerLoopHooks hooks;
  hooks.reload = [&]() -> Result<std::string> {
    systemd.reloading();
    auto done = reload(argc, argv, o, sw, handshakes, **datapath);
    systemd.notify(done ? "READY=1\nSTATUS=" + status
                        : "READY=1\nSTATUS=" + status + "; last reload failed: " + done.error().message);
    return done;
  };
  hooks.identity = {{"public key", secure ? public_key : std::string("none (--insecure: protocol v1)")},
                    {"listening", listen->to_string()},
                    {"protocol", secure ? "v2 (Noise IKpsk2, " + o.cipher + ")" : std::string("v1, INSECURE")}};
  if (evpn) {
    hooks.more_samples = [&](metrics::Samples& out) { evpn->describe(out); };
    for (auto& fact : evpn->facts()) hooks.identity.push_back(std::move(fact));
  }
  PortSeries port_series(metrics ? o.metrics_max_ports : 0);
  if (metrics) {
    hooks.capture = [&](const SwitchState& state) { port_series.capture(state); };
    hooks.publish = [&] { port_series.commit(); };
    if (auto s = metrics->start([&] { return render_server_metrics(sw, **datapath, hooks, port_series); }); !s)
      return fail(s.error().message);
    VS_INFO("metrics at http://%s/metrics", metrics->address().to_string().c_str());
  }
  hooks.ready = [&] { systemd.notify("READY=1\nSTATUS=" + status); };
  hooks.tick = [&](TimePoint now) { systemd.watchdog_tick(now); };
  if (secure)
    VS_INFO("vswitch listening on %s (datapath %s, protocol v2, %zu member(s)), public key %s, control %s",
            listen->to_string().c_str(), facts.front().second.c_str(), members->members().size(),
            public_key.c_str(), o.control.c_str());
  else
    VS_WARN("vswitch listening on %s (datapath %s, INSECURE: protocol v1, no authentication, no encryption), "
            "control %s",
            listen->to_string().c_str(), facts.front().second.c_str(), o.control.c_str());
  const int sig = run_server_loop(sw, **datapath, handshakes, *control, *signals, hooks);
  systemd.notify("STOPPING=1");
  if (evpn) evpn->stop();  // its objects go with it, below, after the goodbyes
  if (metrics) metrics->stop();  // before what its renderer reads goes away
  (*datapath)->stop();
  handshakes.stop();
  std::vector<Goodbye> goodbyes;
  {
    std::lock_guard lock(sw.mutex);
    goodbyes = collect_all_goodbyes(sw.state, protocol::v2::ByeReason::shutdown);
  }
  VS_INFO("signal %d: saying goodbye to %zu port(s)", sig, goodbyes.size());
  send_goodbyes((*datapath)->reply_socket(), goodbyes);
  return 0;
}
