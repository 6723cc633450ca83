// vport: one port of a vswitch. Owns a TAP device and relays its frames to the server.
#include <CLI/CLI.hpp>

#include <signal.h>

#include <charconv>
#include <cstdio>
#include <string>

#include "port_client.hpp"
#include "vswitch/cli_options.hpp"
#include "vswitch/log.hpp"
#include "vswitch/protocol.hpp"

using namespace vswitch;

namespace {

struct Options {
  std::string server;
  bool insecure = false;
  std::string tap;
  std::string network = "1";
  std::string ip;
  std::string mac;
  unsigned mtu = 0;
  unsigned keepalive = 25;
  unsigned queues = 1;
  std::string log_level = "info";
  bool no_offload = false, no_tap_offload = false, no_udp_gso = false, no_udp_gro = false;
  bool no_coalesce = false, no_batching = false, no_uso = false, tx_thread = false;
};

int fail(const std::string& message) {
  std::fprintf(stderr, "vport: %s\n", message.c_str());
  return 1;
}

// Decimal, or hexadecimal with 0x (ZeroTier-style 16-digit ids).
bool parse_network(const std::string& text, std::uint64_t& out) {
  const bool hex = text.starts_with("0x") || text.starts_with("0X");
  const char* b = text.data() + (hex ? 2 : 0);
  const char* e = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(b, e, out, hex ? 16 : 10);
  return b != e && ec == std::errc() && ptr == e;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"vport: connects this host to a vswitch through a TAP device"};
  app.add_option("--server", o.server, "the vswitch: HOST:PORT or [ADDR6]:PORT")->required();
  app.add_flag("--insecure", o.insecure,
               "run without authentication or encryption (required: the only mode of this version)");
  app.add_option("--tap", o.tap, "TAP device name (default: vportN, chosen by the kernel)");
  app.add_option("--network", o.network, "network id to join (decimal or 0x-hex)")->capture_default_str();
  app.add_option("--ip", o.ip, "address for the TAP: A.B.C.D/N or X::Y/N");
  app.add_option("--mac", o.mac, "MAC address for the TAP (default: random)");
  app.add_option("--mtu", o.mtu, "TAP MTU (default: the largest that fits a 1500-byte underlay packet)")
      ->check(CLI::Range(unsigned{protocol::kMinMtu}, unsigned{protocol::kMaxMtu}));
  app.add_option("--keepalive", o.keepalive, "seconds between keepalives")
      ->check(CLI::Range(1u, 3600u))
      ->capture_default_str();
  app.add_flag("--no-offload", o.no_offload,
               "frame-by-frame data path: no TAP offloads, no UDP GSO/GRO, no coalescing");
  app.add_flag("--no-tap-offload", o.no_tap_offload,
               "no virtio-net header on the TAP: the kernel hands over MTU-sized frames");
  app.add_flag("--no-uso", o.no_uso, "do not ask the TAP for UDP segmentation offload (as kernels before 6.2)");
  app.add_flag("--no-udp-gso", o.no_udp_gso, "send datagrams with sendmmsg instead of UDP_SEGMENT trains");
  app.add_flag("--no-udp-gro", o.no_udp_gro, "receive datagram by datagram (no UDP_GRO)");
  app.add_flag("--no-coalesce", o.no_coalesce, "write every received frame to the TAP on its own");
  app.add_flag("--no-batching", o.no_batching, "one syscall per datagram (no recvmmsg/sendmmsg)");
  app.add_option("--queues", o.queues,
                 "TAP queues (IFF_MULTI_QUEUE), one transmit thread each; flows are spread by hash")
      ->check(CLI::Range(1u, 16u))
      ->capture_default_str();
  app.add_flag("--tx-thread", o.tx_thread,
               "run TAP -> server on a thread of its own (default: both directions in one thread, "
               "which measured as fast with offloads and 2x faster without on 2 cores)");
  add_log_level_option(app, o.log_level);
  CLI11_PARSE(app, argc, argv);

  log::set_level(*log::parse_level(o.log_level));
  if (!o.insecure)
    return fail(
        "refusing to start without --insecure: this version has no authentication or "
        "encryption, so frames cross the network in clear and anyone can pose as the server. "
        "Pass --insecure to run it that way.");

  ClientConfig config;
  if (!parse_network(o.network, config.network)) return fail("bad --network '" + o.network + "'");
  std::optional<MacAddr> mac;
  if (!o.mac.empty()) {
    mac = MacAddr::parse(o.mac);
    if (!mac || !mac->is_valid_source()) return fail("bad --mac '" + o.mac + "' (need a unicast MAC)");
  }
  std::string error;
  const auto server = Endpoint::resolve(o.server, protocol::kDefaultPort, error);
  if (!server) return fail(error);
  config.server = *server;
  config.keepalive = std::chrono::seconds(o.keepalive);
  ClientOffloads& off = config.offloads;
  off.tap_offloads = !o.no_offload && !o.no_tap_offload;
  off.udp_gso = !o.no_offload && !o.no_udp_gso;
  off.udp_gro = !o.no_offload && !o.no_udp_gro;
  off.coalesce = off.tap_offloads && !o.no_coalesce;
  off.batching = !o.no_batching;
  off.tx_thread = o.tx_thread;
  config.mtu = o.mtu != 0 ? static_cast<std::uint16_t>(o.mtu)
                          : protocol::tunnel_mtu(1500, server->family() == AF_INET6);

  auto signals = SignalFd::create({SIGUSR1});
  if (!signals) return fail(signals.error().message);
  auto tap = TapDevice::create(o.tap, off.tap_offloads, !o.no_uso, o.queues);
  if (!tap) return fail(tap.error().message);
  if (auto s = tap->set_mtu(config.mtu); !s) return fail(s.error().message);
  if (mac)
    if (auto s = tap->set_mac(*mac); !s) return fail(s.error().message);
  if (!o.ip.empty())
    if (auto s = tap->add_address(o.ip); !s) return fail(s.error().message);
  if (auto s = tap->set_up(); !s) return fail(s.error().message);
  auto tap_mac = tap->mac();
  const std::string mac_text = tap_mac ? tap_mac->to_string() : "unknown";
  VS_INFO("tap %s up: mac %s, mtu %u%s%s; server %s, network %llu (INSECURE: no authentication, "
          "no encryption)",
          tap->name().c_str(), mac_text.c_str(), config.mtu,
          o.ip.empty() ? "" : ", address ", o.ip.c_str(), server->to_string().c_str(),
          static_cast<unsigned long long>(config.network));

  if (!tap->vnet_header()) off.coalesce = false;
  VS_INFO("data path: %s; tap offloads: %s; tap queues: %zu", off.summary().c_str(),
          tap->offload_summary().c_str(), tap->queues());
  PortClient client(*tap, config);
  return client.run(*signals);
}
