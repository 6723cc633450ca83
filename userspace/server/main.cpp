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
#include "socket_datapath.hpp"
#include "vswitch/cli_options.hpp"
#include "vswitch/endpoint.hpp"
#include "vswitch/key_file.hpp"
#include "vswitch/log.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/systemd_notify.hpp"
#include "vswitch/underlay_policy.hpp"

using namespace vswitch;

namespace {

struct Options {
  std::string listen = "0.0.0.0:9797";
  bool insecure = false;
  std::string key_file;
  std::string members;
  std::string cipher = "auto";
  std::string datapath = "auto";
  std::string iface;
  std::string xdp_mode = "auto";
  std::string queues = "all";
  bool copy = false;
  bool zero_copy = false;
  bool busy_poll = false;
  unsigned batch = 64;
  unsigned ring_size = 4096;
  std::string control = kDefaultControlPath;
  unsigned fdb_aging = 300;
  std::size_t fdb_max = 65536;
  std::size_t port_max_macs = 1024;
  std::size_t network_max_macs = 0;
  unsigned flood_limit = 10000;
  unsigned port_timeout = 75;
  std::size_t max_ports = 1024;
  unsigned mtu = 1500;
  std::string log_level = "info";
  bool no_offload = false, no_udp_gro = false, no_udp_gso = false;
  std::vector<std::string> allow_underlay, deny_underlay;
};

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

Result<std::unique_ptr<Datapath>> open_socket_datapath(const Options& o, const Endpoint& listen,
                                                       const SwitchConfig& config, const UnderlayPolicy& underlay) {
  const SocketDatapath::Offloads offloads{.udp_gro = !o.no_offload && !o.no_udp_gro,
                                          .udp_gso = !o.no_offload && !o.no_udp_gso};
  auto dp = SocketDatapath::open(listen, config.mtu, config.max_ports, offloads, underlay);
  if (!dp) return dp.error();
  return std::unique_ptr<Datapath>(new SocketDatapath(std::move(dp).value()));
}

// --datapath: socket, afxdp, or auto (AF_XDP when it can attach, otherwise sockets; says why).
Result<std::unique_ptr<Datapath>> open_datapath(const Options& o, const Endpoint& listen,
                                                const SwitchConfig& config, const UnderlayPolicy& underlay) {
  if (o.datapath == "socket") return open_socket_datapath(o, listen, config, underlay);
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
  if (xo.iface.empty() && !listen.is_any_address()) xo.iface = interface_with_address(listen);
  if (xo.iface.empty()) {
    if (o.datapath == "afxdp") return Error{"--datapath afxdp needs --iface (or a --listen address on an interface)"};
    VS_INFO("datapath auto: no --iface and listening on %s; using the socket datapath",
            listen.is_any_address() ? "the any-address" : "an address of no interface");
    return open_socket_datapath(o, listen, config, underlay);
  }
  auto dp = AfxdpDatapath::open(listen, config, xo);
  if (dp) return std::unique_ptr<Datapath>(std::move(dp).value());
  if (o.datapath == "afxdp") return dp.error();
  VS_WARN("datapath auto: AF_XDP unavailable on %s (%s); using the socket datapath", xo.iface.c_str(),
          dp.error().message.c_str());
  return open_socket_datapath(o, listen, config, underlay);
}

// The members file's mac= pins, as the switch core takes them.
std::vector<MacPin> pins_of(const MemberDirectory& directory) {
  std::vector<MacPin> pins;
  for (const Member& m : directory.members())
    for (const MacAddr mac : m.macs) pins.push_back({m.network, mac.to_u64(), member_owner(m.key)});
  return pins;
}

// SIGHUP and `vswitchctl reload`: a new members file. Members that are gone are told (BYE,
// revoked) and lose their ports and MAC entries at once; everyone else keeps their sessions.
std::string reload_members(const std::string& path, SharedSwitch& sw, HandshakeWorker& handshakes, Datapath& datapath) {
  // SIGHUP (the server loop) and `vswitchctl reload` (the control thread) may overlap: one at a
  // time, so the file read last is the one in force.
  static std::mutex one_reload_at_a_time;
  std::lock_guard serial(one_reload_at_a_time);
  auto list = load_members_file(path);
  if (!list) return list.error().message;
  auto directory = std::make_shared<const MemberDirectory>(std::move(list).value());
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
  VS_INFO("members reloaded from %s: %zu member(s)", path.c_str(), directory->members().size());
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"vswitch: a layer-2 switch whose ports are vport clients across the internet"};
  app.set_version_flag("--version", "vswitch " VSWITCH_VERSION);
  app.add_option("--listen", o.listen, "UDP address to listen on: ADDR:PORT or [ADDR6]:PORT")
      ->capture_default_str();
  auto* insecure = app.add_flag("--insecure", o.insecure,
                                "run the unauthenticated, unencrypted protocol v1 (labs and benchmarks only; "
                                "the clients must ask for it too)");
  app.add_option("--key-file", o.key_file, "the server's private key (vswitchctl genkey > server.key)")
      ->excludes(insecure);
  app.add_option("--members", o.members,
                 "members file, one '<public key> <network id> [name]' per line; reloaded on SIGHUP and "
                 "'vswitchctl reload'")
      ->excludes(insecure);
  app.add_option("--cipher", o.cipher,
                 "cipher suites to accept: auto (AES-256-GCM when the client offers it and this CPU has AES-NI, "
                 "else ChaCha20-Poly1305), chacha20-poly1305, aes-256-gcm")
      ->check(CLI::IsMember({"auto", "chacha20-poly1305", "aes-256-gcm"}))
      ->capture_default_str();
  app.add_option("--datapath", o.datapath, "packet I/O: auto (AF_XDP if it can attach), afxdp, socket")
      ->check(CLI::IsMember({"auto", "afxdp", "socket"}))
      ->capture_default_str();
  app.add_option("--iface", o.iface, "AF_XDP: the interface the tunnel arrives on");
  app.add_option("--xdp-mode", o.xdp_mode, "AF_XDP: native, generic (skb) or auto (native, else generic)")
      ->check(CLI::IsMember({"auto", "native", "generic"}))
      ->capture_default_str();
  app.add_option("--queues", o.queues, "AF_XDP: receive queues to serve, N or all (one worker each)")
      ->check(CLI::IsMember({"all"}) | CLI::Range(1, VSWITCH_XDP_MAX_QUEUES))
      ->capture_default_str();
  auto* copy = app.add_flag("--copy", o.copy, "AF_XDP: force copy mode");
  app.add_flag("--zero-copy", o.zero_copy, "AF_XDP: require zero-copy mode")->excludes(copy);
  app.add_flag("--busy-poll", o.busy_poll, "AF_XDP: spin with busy polling instead of sleeping in poll()");
  app.add_option("--batch", o.batch, "AF_XDP: packets per RX/TX batch")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  app.add_option("--ring-size", o.ring_size,
                 "AF_XDP: entries per ring, a power of two; each queue's UMEM holds twice as many 4 KiB frames")
      ->check(CLI::IsMember({512u, 1024u, 2048u, 4096u, 8192u, 16384u, 32768u}))
      ->capture_default_str();
  app.add_flag("--no-offload", o.no_offload, "socket datapath: neither UDP GRO nor UDP GSO");
  app.add_flag("--no-udp-gro", o.no_udp_gro, "socket datapath: receive datagram by datagram");
  app.add_flag("--no-udp-gso", o.no_udp_gso, "socket datapath: send with sendmmsg, no UDP_SEGMENT trains");
  app.add_option("--control", o.control, "unix socket for vswitchctl")->capture_default_str();
  app.add_option("--fdb-aging", o.fdb_aging, "seconds before an idle MAC entry expires")
      ->check(CLI::Range(1u, 86400u))
      ->capture_default_str();
  app.add_option("--fdb-max", o.fdb_max, "MAC entries in total")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24))
      ->capture_default_str();
  app.add_option("--port-max-macs", o.port_max_macs, "MAC entries per port")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24))
      ->capture_default_str();
  app.add_option("--network-max-macs", o.network_max_macs,
                 "MAC entries per network (0: only --fdb-max), so one network cannot fill the table")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 24))
      ->capture_default_str();
  app.add_option("--flood-limit", o.flood_limit,
                 "storm control: flooded frames (broadcast, multicast, unknown unicast) per second per port, "
                 "0 for no limit")
      ->check(CLI::Range(0u, 100000000u))
      ->capture_default_str();
  app.add_option("--port-timeout", o.port_timeout, "seconds of silence before a port is removed")
      ->check(CLI::Range(1u, 86400u))
      ->capture_default_str();
  app.add_option("--max-ports", o.max_ports, "ports (clients) in total")
      ->check(CLI::Range(std::size_t{1}, PortTable::kMaxPortsLimit))
      ->capture_default_str();
  app.add_option("--mtu", o.mtu, "largest MTU a port may negotiate")
      ->check(CLI::Range(unsigned{protocol::kMinMtu}, unsigned{protocol::kMaxMtu}))
      ->capture_default_str();
  app.add_option("--allow-underlay", o.allow_underlay,
                 "only these underlay sources may send (PREFIX: A.B.C.D/LEN, V6/LEN or one address; repeatable): "
                 "with any allow rule, a source no rule matches is denied; the longest matching prefix wins");
  app.add_option("--deny-underlay", o.deny_underlay,
                 "refuse tunnel packets from these underlay sources (PREFIX, repeatable); the longest matching "
                 "prefix wins. Loopback, multicast, broadcast and the --listen address are always refused");
  add_log_level_option(app, o.log_level);
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
  auto datapath = open_datapath(o, *listen, config, underlay);
  if (!datapath) return fail(datapath.error().message);
  // Last: a control socket that answers means the switch is ready for traffic.
  auto control = ControlServer::listen(o.control);
  if (!control) return fail(control.error().message);

  SharedSwitch sw(config, sessions);
  if (members) sw.state.core.set_pins(pins_of(*members), Clock::now());
  HandshakeWorker handshakes(sw, hc, std::move(server_key), members);
  handshakes.set_reply_socket((*datapath)->reply_socket());
  handshakes.start();
  if (auto s = (*datapath)->start(sw, handshakes); !s) return fail(s.error().message);
  SystemdNotifier systemd;
  const auto facts = (*datapath)->facts();
  const std::string status = std::string("listening on ") + listen->to_string() + ", datapath " + facts.front().second;
  ServerLoopHooks hooks;
  if (secure)
    hooks.reload = [&, path = o.members] {
      systemd.reloading();
      std::string error = reload_members(path, sw, handshakes, **datapath);
      systemd.notify(error.empty() ? "READY=1\nSTATUS=" + status : "READY=1\nSTATUS=" + status + "; last reload failed: " + error);
      return error;
    };
  hooks.identity = {{"public key", secure ? public_key : std::string("none (--insecure: protocol v1)")},
                    {"listening", listen->to_string()},
                    {"protocol", secure ? "v2 (Noise IKpsk2, " + o.cipher + ")" : std::string("v1, INSECURE")}};
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
  (*datapath)->stop();
  handshakes.stop();
  std::vector<Goodbye> goodbyes;
  {
    std::lock_guard lock(sw.mutex);
    goodbyes = collect_goodbyes(sw.state, {}, protocol::v2::ByeReason::shutdown);
  }
  VS_INFO("signal %d: saying goodbye to %zu port(s)", sig, goodbyes.size());
  send_goodbyes((*datapath)->reply_socket(), goodbyes);
  return 0;
}
