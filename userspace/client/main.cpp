// vport: one port of a vswitch. Owns a TAP device and relays its frames to the server.
#include <CLI/CLI.hpp>

#include <signal.h>
#include <sodium.h>

#include <cstdio>
#include <string>

#include "port_client.hpp"
#include "vswitch/cli_options.hpp"
#include "vswitch/key_file.hpp"
#include "vswitch/log.hpp"
#include "vswitch/systemd_notify.hpp"
#include "vswitch/network_id.hpp"
#include "vswitch/protocol.hpp"

using namespace vswitch;

namespace {

struct Options {
  std::string server;
  bool insecure = false;
  std::string server_key;
  std::string key_file;
  std::string cipher = "auto";
  std::string tap;
  std::string network = "1";
  std::string ip;
  std::string mac;
  unsigned mtu = 0;
  unsigned keepalive = 1;
  unsigned queues = 1;
  std::string log_level = "info";
  bool no_offload = false, no_tap_offload = false, no_udp_gso = false, no_udp_gro = false;
  bool no_coalesce = false, no_batching = false, no_uso = false, tx_thread = false;
};

int fail(const std::string& message) {
  std::fprintf(stderr, "vport: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"vport: connects this host to a vswitch through a TAP device"};
  app.set_version_flag("--version", "vport " VSWITCH_VERSION);
  app.add_option("--server", o.server, "the vswitch: HOST:PORT or [ADDR6]:PORT")->required();
  auto* insecure = app.add_flag("--insecure", o.insecure,
                                "run the unauthenticated, unencrypted protocol v1 (the server must run --insecure too)");
  app.add_option("--server-key", o.server_key, "the server's public key (vswitchctl pubkey < server.key)")
      ->excludes(insecure);
  app.add_option("--key-file", o.key_file, "this client's private key (vswitchctl genkey > client.key)")
      ->excludes(insecure);
  app.add_option("--cipher", o.cipher,
                 "cipher suites to offer: auto (AES-256-GCM too when this CPU has AES-NI; the server picks), "
                 "chacha20-poly1305")
      ->check(CLI::IsMember({"auto", "chacha20-poly1305"}))
      ->capture_default_str();
  app.add_option("--tap", o.tap, "TAP device name (default: vportN, chosen by the kernel)");
  app.add_option("--network", o.network, "network id to join (decimal or 0x-hex)")->capture_default_str();
  app.add_option("--ip", o.ip, "address for the TAP: A.B.C.D/N or X::Y/N");
  app.add_option("--mac", o.mac, "MAC address for the TAP (default: random)");
  app.add_option("--mtu", o.mtu, "TAP MTU (default: the largest that fits a 1500-byte underlay packet)")
      ->check(CLI::Range(unsigned{protocol::kMinMtu}, unsigned{protocol::kMaxMtu}));
  app.add_option("--keepalive", o.keepalive,
                 "seconds between pings to the server; after three without a word from it, a new handshake")
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
  if (const int rc = parse_command_line(app, argc, argv, "vport"); rc >= 0) return rc;

  log::set_level(*log::parse_level(o.log_level));
  log::AsyncLogWriter log_writer;  // the TAP and UDP threads never wait for stderr
  if (sodium_init() < 0) return fail("libsodium failed to initialise");
  const bool secure = !o.insecure;
  if (secure && (o.server_key.empty() || o.key_file.empty()))
    return fail(
        "needs --server-key and --key-file (or --insecure for the unauthenticated protocol v1). Make a key with\n"
        "  umask 077; vswitchctl genkey > client.key; vswitchctl pubkey < client.key\n"
        "ask the server's operator for its public key (--server-key), and have them add this client's public key "
        "to the members file.");

  ClientConfig config;
  const auto network = parse_network_id(o.network);
  if (!network) return fail("bad --network '" + o.network + "' (decimal, or hexadecimal with 0x)");
  config.session.network = *network;
  std::optional<MacAddr> mac;
  if (!o.mac.empty()) {
    mac = MacAddr::parse(o.mac);
    if (!mac || !mac->is_valid_source()) return fail("bad --mac '" + o.mac + "' (need a unicast MAC)");
  }
  std::optional<handshake::ClientHandshake> handshake;
  if (secure) {
    const auto server_key = public_key_from_base64(o.server_key);
    if (!server_key) return fail("bad --server-key '" + o.server_key + "': expected 44 base64 characters (vswitchctl pubkey)");
    if (is_weak_public_key(*server_key)) return fail("--server-key is a low-order point: no server has that key");
    std::string warning;
    auto key = load_private_key_file(o.key_file, warning);
    if (!key) return fail(key.error().message);
    if (!warning.empty()) VS_WARN("%s", warning.c_str());
    const std::array<std::uint8_t, 32> psk{};
    handshake.emplace(key->bytes(), *server_key, psk);
    config.public_key = key_to_base64(key->public_key());
    config.server_key = o.server_key;
    config.session.suites = suite_bit(CipherSuite::chacha20_poly1305);
    if (o.cipher == "auto" && aes256gcm_available()) config.session.suites |= suite_bit(CipherSuite::aes256_gcm);
  }
  std::string error;
  const auto server = Endpoint::resolve(o.server, protocol::kDefaultPort, error);
  if (!server) return fail(error);
  config.server = *server;
  config.session.keepalive = std::chrono::seconds(o.keepalive);
  ClientOffloads& off = config.offloads;
  off.tap_offloads = !o.no_offload && !o.no_tap_offload;
  off.udp_gso = !o.no_offload && !o.no_udp_gso;
  off.udp_gro = !o.no_offload && !o.no_udp_gro;
  off.coalesce = off.tap_offloads && !o.no_coalesce;
  off.batching = !o.no_batching;
  off.tx_thread = o.tx_thread;
  config.session.mtu = o.mtu != 0 ? static_cast<std::uint16_t>(o.mtu)
                                  : protocol::tunnel_mtu(1500, server->family() == AF_INET6);

  auto signals = SignalFd::create({SIGUSR1});
  if (!signals) return fail(signals.error().message);
  auto tap = TapDevice::create(o.tap, off.tap_offloads, !o.no_uso, o.queues);
  if (!tap) return fail(tap.error().message);
  if (auto s = tap->set_mtu(config.session.mtu); !s) return fail(s.error().message);
  if (mac)
    if (auto s = tap->set_mac(*mac); !s) return fail(s.error().message);
  if (!o.ip.empty())
    if (auto s = tap->add_address(o.ip); !s) return fail(s.error().message);
  if (auto s = tap->set_up(); !s) return fail(s.error().message);
  auto tap_mac = tap->mac();
  const std::string mac_text = tap_mac ? tap_mac->to_string() : "unknown";
  if (secure)
    VS_INFO("tap %s up: mac %s, mtu %u%s%s; server %s (key %s), network %llu; this client's public key: %s",
            tap->name().c_str(), mac_text.c_str(), config.session.mtu, o.ip.empty() ? "" : ", address ", o.ip.c_str(),
            server->to_string().c_str(), o.server_key.c_str(), static_cast<unsigned long long>(config.session.network),
            config.public_key.c_str());
  else
    VS_WARN("tap %s up: mac %s, mtu %u%s%s; server %s, network %llu (INSECURE: protocol v1, no authentication, "
            "no encryption)",
            tap->name().c_str(), mac_text.c_str(), config.session.mtu, o.ip.empty() ? "" : ", address ",
            o.ip.c_str(), server->to_string().c_str(), static_cast<unsigned long long>(config.session.network));

  if (!tap->vnet_header()) off.coalesce = false;
  VS_INFO("data path: %s; tap offloads: %s; tap queues: %zu", off.summary().c_str(),
          tap->offload_summary().c_str(), tap->queues());
  PortClient client(*tap, config, std::move(handshake));
  // Ready once the TAP exists: the OS can configure it while the client joins.
  const SystemdNotifier systemd;
  systemd.notify("READY=1\nSTATUS=" + tap->name() + " up, server " + server->to_string());
  const int rc = client.run(*signals);
  systemd.notify("STOPPING=1");
  return rc;
}
