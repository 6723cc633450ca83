// vswitch: the server. A learning Ethernet switch whose ports are vport clients over UDP.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "server_loop.hpp"
#include "socket_datapath.hpp"
#include "vswitch/endpoint.hpp"
#include "vswitch/log.hpp"
#include "vswitch/protocol.hpp"

using namespace vswitch;

namespace {

struct Options {
  std::string listen = "0.0.0.0:9797";
  bool insecure = false;
  std::string datapath = "socket";
  std::string control = kDefaultControlPath;
  unsigned fdb_aging = 300;
  std::size_t fdb_max = 65536;
  std::size_t port_max_macs = 1024;
  unsigned port_timeout = 75;
  std::size_t max_ports = 1024;
  unsigned mtu = 1500;
  std::string log_level = "info";
};

int fail(const std::string& message) {
  std::fprintf(stderr, "vswitch: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"vswitch: a layer-2 switch whose ports are vport clients across the internet"};
  app.add_option("--listen", o.listen, "UDP address to listen on: ADDR:PORT or [ADDR6]:PORT")
      ->capture_default_str();
  app.add_flag("--insecure", o.insecure,
               "run without authentication or encryption (required: the only mode of this version)");
  app.add_option("--datapath", o.datapath, "packet I/O: socket")
      ->check(CLI::IsMember({"socket"}))
      ->capture_default_str();
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
  app.add_option("--port-timeout", o.port_timeout, "seconds of silence before a port is removed")
      ->check(CLI::Range(1u, 86400u))
      ->capture_default_str();
  app.add_option("--max-ports", o.max_ports, "ports (clients) in total")
      ->check(CLI::Range(std::size_t{1}, PortTable::kMaxPortsLimit))
      ->capture_default_str();
  app.add_option("--mtu", o.mtu, "largest MTU a port may negotiate")
      ->check(CLI::Range(unsigned{protocol::kMinMtu}, unsigned{protocol::kMaxMtu}))
      ->capture_default_str();
  app.add_option("--log-level", o.log_level, "error, warn, info or debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  log::set_level(*log::parse_level(o.log_level));
  if (!o.insecure)
    return fail(
        "refusing to start without --insecure: this version has no authentication or "
        "encryption, so anyone who reaches the port can join and every frame crosses the "
        "network in clear. Pass --insecure to run it that way.");

  const auto listen = Endpoint::parse_numeric(o.listen, protocol::kDefaultPort);
  if (!listen) return fail("bad --listen '" + o.listen + "': expected ADDR:PORT or [ADDR6]:PORT");

  SwitchConfig config;
  config.max_ports = o.max_ports;
  config.fdb_max = o.fdb_max;
  config.port_max_macs = o.port_max_macs;
  config.fdb_aging = std::chrono::seconds(o.fdb_aging);
  config.port_timeout = std::chrono::seconds(o.port_timeout);
  config.mtu = static_cast<std::uint16_t>(o.mtu);

  auto signals = SignalFd::create();
  if (!signals) return fail(signals.error().message);
  auto datapath = SocketDatapath::open(*listen, config.mtu);
  if (!datapath) return fail(datapath.error().message);
  auto control = ControlServer::listen(o.control);
  if (!control) return fail(control.error().message);

  SwitchCore core(config);
  VS_INFO("vswitch listening on %s (datapath socket, INSECURE: no authentication, no encryption), "
          "control %s", listen->to_string().c_str(), o.control.c_str());
  const int sig = run_server_loop(core, *datapath, *control, *signals);
  VS_INFO("signal %d: saying goodbye to %zu port(s)", sig, core.ports().size());
  datapath->say_goodbye(core);
  return 0;
}
