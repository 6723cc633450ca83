#include "server_options.hpp"

#include "vswitch/bpf_abi.h"
#include "vswitch/cli_options.hpp"
#include "vswitch/port_table.hpp"
#include "vswitch/protocol.hpp"

namespace vswitch {

void add_options(CLI::App& app, ServerOptions& o) {
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
  app.add_option("--evpn-vtep", o.evpn_vtep,
                 "EVPN: take part in BGP EVPN through FRR with this VTEP address (zebra and bgpd with "
                 "advertise-all-vni must run); every network runs on a VNI, its id's low 24 bits unless --evpn-vni");
  app.add_option("--evpn-vni", o.evpn_vni, "EVPN: NETWORK=VNI, a network on a VNI of its own (repeatable)");
  app.add_option("--evpn-port", o.evpn_port, "EVPN: the UDP port of VXLAN between servers")
      ->check(CLI::Range(1u, 65535u))
      ->capture_default_str();
  app.add_option("--evpn-shadow-port", o.evpn_shadow_port,
                 "EVPN: the UDP port of the kernel VXLAN devices zebra reads (they carry no traffic)")
      ->check(CLI::Range(1u, 65535u))
      ->capture_default_str();
  app.add_option("--metrics", o.metrics,
                 "serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9798; off unless given)");
  app.add_option("--metrics-max-ports", o.metrics_max_ports,
                 "per-port series for at most this many ports (the rest are counted as omitted)")
      ->check(CLI::Range(std::size_t{0}, PortTable::kMaxPortsLimit))
      ->capture_default_str();
  add_log_level_option(app, o.log_level);
}

std::vector<std::string> restart_needed(const ServerOptions& a, const ServerOptions& b) {
  std::vector<std::string> out;
  auto differs = [&](const char* name, bool changed) {
    if (changed) out.emplace_back(name);
  };
  differs("--listen", a.listen != b.listen);
  differs("--insecure", a.insecure != b.insecure);
  differs("--key-file", a.key_file != b.key_file);
  differs("--cipher", a.cipher != b.cipher);
  differs("--datapath", a.datapath != b.datapath);
  differs("--iface", a.iface != b.iface);
  differs("--xdp-mode", a.xdp_mode != b.xdp_mode);
  differs("--queues", a.queues != b.queues);
  differs("--copy", a.copy != b.copy);
  differs("--zero-copy", a.zero_copy != b.zero_copy);
  differs("--busy-poll", a.busy_poll != b.busy_poll);
  differs("--batch", a.batch != b.batch);
  differs("--ring-size", a.ring_size != b.ring_size);
  differs("--control", a.control != b.control);
  differs("--fdb-max", a.fdb_max != b.fdb_max);
  differs("--max-ports", a.max_ports != b.max_ports);
  differs("--mtu", a.mtu != b.mtu);
  differs("--no-offload", a.no_offload != b.no_offload);
  differs("--no-udp-gro", a.no_udp_gro != b.no_udp_gro);
  differs("--no-udp-gso", a.no_udp_gso != b.no_udp_gso);
  differs("--allow-underlay", a.allow_underlay != b.allow_underlay);
  differs("--deny-underlay", a.deny_underlay != b.deny_underlay);
  differs("--evpn-vtep", a.evpn_vtep != b.evpn_vtep);
  differs("--evpn-vni", a.evpn_vni != b.evpn_vni);
  differs("--evpn-port", a.evpn_port != b.evpn_port);
  differs("--evpn-shadow-port", a.evpn_shadow_port != b.evpn_shadow_port);
  differs("--metrics", a.metrics != b.metrics);
  differs("--metrics-max-ports", a.metrics_max_ports != b.metrics_max_ports);
  return out;
}

}  // namespace vswitch
