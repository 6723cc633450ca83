// vswitch's options: one struct with the defaults written once, filled by the command line and
// the --config file alike (cli_options.hpp), and read again on a reload.
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "afxdp_datapath.hpp"
#include "vswitch/control_socket.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/switch_state.hpp"

namespace vswitch {

// The defaults live with what they configure; this struct names them again only as options.
namespace option_defaults {
inline const SwitchConfig kSwitch{};
inline const SessionConfig kSession{};
inline const AfxdpOptions kAfxdp{};
constexpr unsigned seconds(Duration d) {
  return static_cast<unsigned>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}
}  // namespace option_defaults

struct ServerOptions {
  std::string listen = "0.0.0.0:" + std::to_string(protocol::kDefaultPort);
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
  unsigned batch = option_defaults::kAfxdp.batch;
  unsigned ring_size = option_defaults::kAfxdp.ring_size;
  std::string control = kDefaultControlPath;
  unsigned fdb_aging = option_defaults::seconds(option_defaults::kSwitch.fdb_aging);
  std::size_t fdb_max = option_defaults::kSwitch.fdb_max;
  std::size_t port_max_macs = option_defaults::kSwitch.port_max_macs;
  std::size_t network_max_macs = option_defaults::kSwitch.network_max_macs;
  unsigned flood_limit = static_cast<unsigned>(option_defaults::kSwitch.flood_per_second);
  unsigned port_timeout = option_defaults::seconds(option_defaults::kSession.port_timeout);
  std::size_t max_ports = option_defaults::kSwitch.max_ports;
  unsigned mtu = option_defaults::kSwitch.mtu;
  std::string log_level = "info";
  bool no_offload = false, no_udp_gro = false, no_udp_gso = false;
  std::vector<std::string> allow_underlay, deny_underlay;
  std::string evpn_vtep;           // EVPN: our VTEP address; empty: no EVPN
  unsigned evpn_port = 4789;       // the VXLAN port, ours and the other servers'
  unsigned evpn_shadow_port = 4790;
  std::vector<std::string> evpn_vni;  // NETWORK=VNI
  std::string metrics;             // ADDR:PORT of the Prometheus endpoint; empty: none
  std::size_t metrics_max_ports = 256;
};

// Every option, its check and its help text.
void add_options(CLI::App& app, ServerOptions& o);

// What a reload cannot change while running: the options that differ, by name ("--listen").
std::vector<std::string> restart_needed(const ServerOptions& running, const ServerOptions& fresh);

}  // namespace vswitch
