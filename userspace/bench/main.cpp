// vswitch-bench: a load generator that emulates switch ports from userspace.
//
// It joins N ports with the real protocol (one UDP socket each, one ClientSession each: v1's
// HELLO/CHALLENGE/WELCOME, or with --key-dir v2's Noise handshake and sealed DATA, so that the
// generator pays a real client's encryption), teaches the switch their MACs, then sends DATA frames in sendmmsg batches, at full speed or paced,
// for a bounded time. Forwarded frames are counted either by receiving them (--receive: one
// receiver thread, latency from the send timestamp carried in each frame) or from the rx
// counter of an interface where the harness drops them early (--count-iface), so that the
// generator's own receive cost does not cap the rate it measures. --loopback measures the
// generator alone: the ports send to each other directly, the server out of the loop.
// --afxdp-tx sends the load through an AF_XDP socket instead of the ports' UDP sockets (same
// addresses and ports, so the switch sees the same ports), for datapaths faster than a UDP
// socket generator. --xdp-live injects copies of one frame per port with BPF_PROG_RUN's live
// frames mode (no skb, as from a NIC driver): the fastest and cheapest load, without MAC walks
// or per-frame timestamps.
#include <CLI/CLI.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sodium.h>

#include <deque>

#include "afxdp_sender.hpp"
#include "xdp_live_sender.hpp"
#include "vswitch/byte_order.hpp"
#include "vswitch/checksum.hpp"
#include "vswitch/client_session.hpp"
#include "vswitch/endpoint.hpp"
#include "vswitch/ethernet.hpp"
#include "vswitch/key_file.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/unique_fd.hpp"

using namespace vswitch;
namespace proto = vswitch::protocol;

namespace {

struct Options {
  std::string server;
  std::string bind = "0.0.0.0";
  unsigned ports = 2;
  unsigned macs = 1;  // MACs per port
  unsigned frame_size = 64;
  std::string mode = "unicast";
  double rate = 0;  // packets/s, 0 = as fast as possible
  double duration = 5;
  unsigned batch = 64;
  std::uint64_t network = 1;
  bool receive = false;
  bool loopback = false;
  std::string count_iface;
  std::string afxdp_tx;
  std::string xdp_live;
  unsigned live_copies = 65536;
  std::string key_dir;  // secure: server.pub and p<N>.key for each port
  std::string cipher = "auto";
  double flood_initiations = 0;  // handshake initiations a second from strangers, during the load
};

// Inner frames are IPv4/UDP packets (198.19.0.1 -> 198.19.0.2, as a VPN carries): a datapath
// may treat non-IP frames differently. seq (8) + send time (8) open the inner UDP payload.
constexpr std::size_t kStampOffset = 14 + 20 + 8;
constexpr std::uint64_t kLatencyBuckets = 100000;  // 1 us each: up to 100 ms

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "vswitch-bench: %s\n", message.c_str());
  std::exit(1);
}

std::uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

void put_mac(std::uint8_t* out, unsigned port, unsigned mac) {
  const std::uint8_t m[6] = {0x02, 0xbe, static_cast<std::uint8_t>(port >> 8), static_cast<std::uint8_t>(port),
                             static_cast<std::uint8_t>(mac >> 8), static_cast<std::uint8_t>(mac)};
  std::memcpy(out, m, 6);
}

std::uint64_t iface_rx_packets(const std::string& iface) {
  std::ifstream f("/sys/class/net/" + iface + "/statistics/rx_packets");
  std::uint64_t v = 0;
  f >> v;
  return v;
}

struct EmulatedPort {
  UniqueFd fd;
  Endpoint local;
  std::unique_ptr<ClientSession> session;  // none in --loopback mode
  Keypair loop_keypair;                     // --loopback: sealing without a server
  Keypair* tx() { return session ? session->tx_keypair() : &loop_keypair; }
};

void open_port(EmulatedPort& p, const Endpoint& bind_to) {
  p.fd.reset(socket(bind_to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!p.fd.valid()) die(std::string("socket: ") + std::strerror(errno));
  const int size = 4 << 20;
  setsockopt(p.fd.get(), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
  setsockopt(p.fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  if (bind(p.fd.get(), bind_to.sockaddr_ptr(), bind_to.size()) != 0) die(std::string("bind: ") + std::strerror(errno));
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(p.fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  p.local = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

void send_all(EmulatedPort& p, ClientSession::Output& out) {
  for (const auto& m : out.messages) send(p.fd.get(), m.data(), m.size(), 0);
  out.clear();
}

// Every port runs its session's join (retries included) until each is joined (bounded: 10 s).
void join(std::deque<EmulatedPort>& ports) {
  ClientSession::Output out;
  for (auto& p : ports) {
    p.session->start(Clock::now(), out);
    send_all(p, out);
  }
  const TimePoint deadline = Clock::now() + std::chrono::seconds(10);
  std::vector<std::uint8_t> buf(65536);
  for (;;) {
    std::size_t joined = 0;
    for (auto& p : ports) joined += p.session->joined() ? 1 : 0;
    if (joined == ports.size()) return;
    if (Clock::now() > deadline)
      die("only " + std::to_string(joined) + " of " + std::to_string(ports.size()) + " ports joined (keys in the "
          "server's members file? --insecure on both sides?)");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (auto& p : ports) {
      ssize_t n;
      while ((n = recv(p.fd.get(), buf.data(), buf.size(), MSG_DONTWAIT)) > 0) {
        const std::span<std::uint8_t> msg(buf.data(), static_cast<std::size_t>(n));
        const bool data = msg.size() >= 2 && (msg[1] == VSWITCH_V2_DATA || msg[1] == VSWITCH_V2_CONTROL ||
                                              (msg[0] == VSWITCH_WIRE_V1 && msg[1] == VSWITCH_V1_KEEPALIVE));
        if (data) (void)p.session->on_data(msg, Clock::now(), out);
        else p.session->on_control(msg, Clock::now(), out);
      }
      p.session->on_timer(Clock::now(), out);
      send_all(p, out);
    }
  }
}

// A goodbye from every joined port, as a client leaving: otherwise the switch keeps the ports
// until they time out and floods the next run's broadcasts and unknown unicast to them too.
void leave(std::deque<EmulatedPort>& ports) {
  for (auto& p : ports) {
    if (!p.session) continue;
    if (const auto bye = p.session->goodbye(); !bye.empty()) send(p.fd.get(), bye.data(), bye.size(), 0);
  }
}

// Frames in flight per port: prebuilt messages; per send the counter, seq and time change and
// (v2) the frame is sealed again from its plaintext copy.
struct Sender {
  std::vector<std::uint8_t> msgs;  // batch x message
  std::vector<std::uint8_t> plain;  // batch x frame (v2: what each message seals)
  std::vector<iovec> iovs;
  std::vector<std::span<const std::uint8_t>> spans;  // the same messages, for --afxdp-tx
  std::vector<mmsghdr> hdrs;
  std::size_t msg_size = 0;
};

void fill_frame(std::uint8_t* frame, std::size_t size, const std::uint8_t* dst, const std::uint8_t* src) {
  std::memset(frame, 0, size);
  std::memcpy(frame, dst, 6);
  std::memcpy(frame + 6, src, 6);
  store_be16({frame + 12, 2}, ethernet::kTypeIpv4);
  std::uint8_t* ip = frame + 14;
  const auto ip_len = static_cast<std::uint16_t>(size - 14);
  ip[0] = 0x45;
  store_be16({ip + 2, 2}, ip_len);
  ip[8] = 64;  // TTL
  ip[9] = 17;  // UDP
  const std::uint8_t addrs[8] = {198, 19, 0, 1, 198, 19, 0, 2};
  std::memcpy(ip + 12, addrs, sizeof addrs);
  store_be16({ip + 10, 2}, checksum::finish(checksum::add(0, {ip, 20})));
  std::uint8_t* udp = ip + 20;
  store_be16({udp, 2}, 9);      // discard
  store_be16({udp + 2, 2}, 9);
  store_be16({udp + 4, 2}, static_cast<std::uint16_t>(ip_len - 20));  // checksum 0: none
}

// Initiations from keys that are no member (valid mac1: anyone who knows the server's public
// key can compute it), sent at a fixed rate from a socket of their own for the load's duration:
// what a handshake flood costs the established traffic. Precomputed, so the flood itself is
// cheap to send.
class InitiationFlood {
 public:
  InitiationFlood(const Endpoint& server, const Endpoint& bind_to, const noise::PublicKey& server_key) {
    fd_.reset(socket(bind_to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd_.valid() || bind(fd_.get(), bind_to.sockaddr_ptr(), bind_to.size()) != 0 ||
        connect(fd_.get(), server.sockaddr_ptr(), server.size()) != 0)
      die(std::string("flood socket: ") + std::strerror(errno));
    const std::array<std::uint8_t, 32> psk{};
    for (int k = 0; k < 16; ++k) {
      const auto stranger = noise::KeyPair::generate();
      handshake::ClientHandshake hs(stranger.private_key.bytes(), server_key, psk);
      for (int i = 0; i < 16; ++i) {
        proto::v2::InitiationPayload p;
        p.timestamp = handshake::tai64n(std::chrono::system_clock::now());
        p.network = 1;
        p.suites = suite_bit(CipherSuite::chacha20_poly1305);
        p.mtu = 1400;
        auto& m = messages_.emplace_back();
        hs.create_initiation(randombytes_random() | 1, p, Clock::now(), m);
      }
    }
  }
  void run(double rate, double seconds, std::atomic<bool>& stop) {
    const std::uint64_t start = now_ns();
    const auto limit = static_cast<std::uint64_t>(seconds * 1e9);
    for (std::size_t i = 0; !stop.load(std::memory_order_relaxed) && now_ns() - start < limit; i = (i + 1) % messages_.size()) {
      while (static_cast<double>(sent_) >= static_cast<double>(now_ns() - start) * 1e-9 * rate) {
        if (stop.load(std::memory_order_relaxed)) return;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      if (send(fd_.get(), messages_[i].data(), messages_[i].size(), 0) > 0) ++sent_;
      std::uint8_t drain[128];
      while (recv(fd_.get(), drain, sizeof drain, MSG_DONTWAIT) > 0) ++cookies_;
    }
  }
  std::uint64_t sent() const { return sent_; }
  std::uint64_t answers() const { return cookies_; }

 private:
  UniqueFd fd_;
  std::vector<std::array<std::uint8_t, proto::v2::initiation::kSize>> messages_;
  std::uint64_t sent_ = 0, cookies_ = 0;
};

struct Receiver {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> received{0};
  std::vector<std::uint64_t> latency_us = std::vector<std::uint64_t>(kLatencyBuckets + 1);

  void run(std::deque<EmulatedPort>& ports) {
    std::vector<pollfd> fds;
    for (auto& p : ports) fds.push_back({p.fd.get(), POLLIN, 0});
    constexpr int kBatch = 64;
    std::vector<std::uint8_t> bufs(kBatch * 2048);
    iovec iov[kBatch];
    mmsghdr msgs[kBatch];
    while (!stop.load(std::memory_order_relaxed)) {
      if (poll(fds.data(), fds.size(), 50) <= 0) continue;
      for (auto& f : fds) {
        if (!(f.revents & POLLIN)) continue;
        for (int i = 0; i < kBatch; ++i) {
          iov[i] = {&bufs[static_cast<std::size_t>(i) * 2048], 2048};
          msgs[i].msg_hdr = {};
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int n = recvmmsg(f.fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
        const std::uint64_t t = now_ns();
        Keypair* kp = ports[static_cast<std::size_t>(&f - fds.data())].tx();
        for (int i = 0; i < n; ++i) {
          const std::span<std::uint8_t> msg(&bufs[static_cast<std::size_t>(i) * 2048], msgs[i].msg_len);
          if (kp == nullptr || msg.size() < kp->overhead() + kStampOffset + 16) continue;
          if (msg[1] != VSWITCH_V1_DATA) continue;  // DATA in both versions
          const auto payload = open(*kp, msg);  // v2: decrypt, so that the timestamp can be read
          if (!payload) continue;
          const std::uint8_t* frame = payload->data();
          const std::uint64_t sent = load_be64({frame + kStampOffset + 8, 8});
          const std::uint64_t us = t > sent ? (t - sent) / 1000 : 0;
          ++latency_us[std::min(us, kLatencyBuckets)];
          received.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
  }

  double percentile(double q) const {
    std::uint64_t total = 0;
    for (auto c : latency_us) total += c;
    if (total == 0) return -1;
    const auto want = static_cast<std::uint64_t>(q * static_cast<double>(total - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t us = 0; us < latency_us.size(); ++us) {
      seen += latency_us[us];
      if (seen >= want) return static_cast<double>(us);
    }
    return static_cast<double>(kLatencyBuckets);
  }
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"vswitch-bench: emulated ports that load a vswitch and measure what it forwards"};
  app.add_option("--server", o.server, "the vswitch, ADDR:PORT")->required();
  app.add_option("--bind", o.bind, "local address for the emulated ports")->capture_default_str();
  app.add_option("--ports", o.ports, "emulated ports")->check(CLI::Range(2u, 4096u))->capture_default_str();
  app.add_option("--macs", o.macs, "MAC addresses per port (learned before the run)")
      ->check(CLI::Range(1u, 65536u))->capture_default_str();
  app.add_option("--frame-size", o.frame_size, "inner Ethernet frame bytes")
      ->check(CLI::Range(64u, 1514u))->capture_default_str();
  app.add_option("--mode", o.mode, "unicast (port i -> port i+N/2) or broadcast")
      ->check(CLI::IsMember({"unicast", "broadcast"}))->capture_default_str();
  app.add_option("--rate", o.rate, "packets per second (0: as fast as possible)")->capture_default_str();
  app.add_option("--duration", o.duration, "seconds of load (at most 60)")
      ->check(CLI::Range(0.1, 60.0))->capture_default_str();
  app.add_option("--batch", o.batch, "datagrams per sendmmsg")->check(CLI::Range(1u, 1024u))->capture_default_str();
  app.add_option("--network", o.network, "network id")->capture_default_str();
  app.add_flag("--receive", o.receive, "receive forwarded frames in userspace and measure latency");
  app.add_flag("--loopback", o.loopback, "server out of the loop: ports send to each other directly");
  app.add_option("--count-iface", o.count_iface, "count forwarded packets from this interface's rx counter");
  app.add_option("--afxdp-tx", o.afxdp_tx, "send the load through an AF_XDP socket on this interface (IPv4)");
  app.add_option("--xdp-live", o.xdp_live,
                 "inject the load as XDP frames on this interface (IPv4, one frame per port; on a veth the peer "
                 "needs NAPI: GRO on or an XDP program, else the kernel drops them uncounted)")
      ->excludes("--afxdp-tx");
  app.add_option("--key-dir", o.key_dir,
                 "secure (protocol v2): a folder with server.pub and p0.key, p1.key, ... (members of --network)");
  app.add_option("--cipher", o.cipher, "v2 suites to offer: auto or chacha20-poly1305")
      ->check(CLI::IsMember({"auto", "chacha20-poly1305"}))
      ->capture_default_str();
  app.add_option("--flood-initiations", o.flood_initiations,
                 "with --key-dir: this many handshake initiations a second from non-member keys during the load")
      ->check(CLI::Range(0.0, 1e7));
  app.add_option("--live-copies", o.live_copies, "copies per BPF_PROG_RUN call with --xdp-live (each call costs a page pool)")
      ->check(CLI::Range(64u, 1u << 22))->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const auto server = Endpoint::parse_numeric(o.server, proto::kDefaultPort);
  if (!server) die("bad --server");
  const auto bind_to = Endpoint::parse_numeric(o.bind, 0);
  if (!bind_to) die("bad --bind");

  if (sodium_init() < 0) die("libsodium failed to initialise");
  const bool secure = !o.key_dir.empty();
  std::optional<noise::PublicKey> server_key;
  if (secure) {
    std::ifstream f(o.key_dir + "/server.pub");
    std::string text;
    f >> text;
    server_key = public_key_from_base64(text);
    if (!server_key) die("no server public key in " + o.key_dir + "/server.pub");
    if (!o.xdp_live.empty()) die("--xdp-live injects copies of one message: the replay window drops them in v2");
  }
  EpochDomain epochs;
  std::deque<EmulatedPort> ports;
  for (unsigned i = 0; i < o.ports; ++i) {
    EmulatedPort& p = ports.emplace_back();
    open_port(p, *bind_to);
    if (o.loopback) {
      p.loop_keypair.plaintext = !secure;
      if (secure) {
        std::array<std::uint8_t, 32> key{};
        randombytes_buf(key.data(), key.size());
        (void)p.loop_keypair.send.set(CipherSuite::chacha20_poly1305, key);
      }
      continue;
    }
    ClientSessionConfig sc;
    sc.network = o.network;
    sc.mtu = 1500;
    std::optional<handshake::ClientHandshake> hs;
    if (secure) {
      std::string warning;
      auto key = load_private_key_file(o.key_dir + "/p" + std::to_string(i) + ".key", warning);
      if (!key) die(key.error().message);
      const std::array<std::uint8_t, 32> psk{};
      hs.emplace(key->bytes(), *server_key, psk);
      sc.suites = suite_bit(CipherSuite::chacha20_poly1305);
      if (o.cipher == "auto" && aes256gcm_available()) sc.suites |= suite_bit(CipherSuite::aes256_gcm);
    }
    p.session = std::make_unique<ClientSession>(sc, std::move(hs), epochs);
  }
  if (o.loopback) {
    for (unsigned i = 0; i < o.ports; ++i) {
      const auto& peer = ports[(i + o.ports / 2) % o.ports].local;
      if (connect(ports[i].fd.get(), peer.sockaddr_ptr(), peer.size()) != 0) die("connect");
    }
  } else {
    for (auto& p : ports)
      if (connect(p.fd.get(), server->sockaddr_ptr(), server->size()) != 0) die("connect to server");
    join(ports);
  }

  const std::size_t overhead = ports.front().tx()->overhead();
  const std::size_t msg_size = overhead + o.frame_size;
  // Learning: every MAC of every port speaks once (broadcast), paced so none is lost.
  if (!o.loopback) {
    std::vector<std::uint8_t> msg(msg_size);
    const std::uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    for (int pass = 0; pass < 2; ++pass)
      for (unsigned m = 0; m < o.macs; ++m)
        for (unsigned i = 0; i < o.ports; ++i) {
          std::uint8_t src[6];
          put_mac(src, i, m);
          fill_frame(msg.data() + proto::kDataHeaderSize, o.frame_size, bcast, src);
          Keypair* kp = ports[i].tx();
          seal(*kp, MessageKind::frame, *kp->take_counters(1), msg, o.frame_size);
          send(ports[i].fd.get(), msg.data(), msg.size(), 0);
          if ((m * o.ports + i) % 256 == 255) std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }

  std::optional<bench::AfxdpSender> xdp_sender;
  std::vector<underlay::UnderlayRoute> xdp_routes;
  std::optional<bench::XdpLiveSender> live_sender;
  const std::string& xdp_iface = o.afxdp_tx.empty() ? o.xdp_live : o.afxdp_tx;
  if (!xdp_iface.empty()) {
    if (o.loopback) die("--afxdp-tx and --xdp-live need a server");
    for (auto& p : ports) {
      auto route = bench::route_of_connected_socket(p.fd.get(), xdp_iface);
      if (!route) die(route.error().message);
      xdp_routes.push_back(*route);
    }
  }
  if (!o.afxdp_tx.empty()) {
    auto sender = bench::AfxdpSender::open(o.afxdp_tx);
    if (!sender) die(sender.error().message);
    xdp_sender.emplace(std::move(sender).value());
  }
  if (!o.xdp_live.empty()) {
    if (o.macs > 1) die("--xdp-live sends one frame per port: --macs must be 1");
    auto sender = bench::XdpLiveSender::open(o.xdp_live);
    if (!sender) die(sender.error().message);
    live_sender.emplace(std::move(sender).value());
  }

  Receiver receiver;
  std::thread rx_thread;
  // Drain what the learning phase left in the sockets before measuring.
  for (auto& p : ports) {
    std::uint8_t buf[2048];
    while (recv(p.fd.get(), buf, sizeof buf, MSG_DONTWAIT) > 0) {}
  }
  if (o.receive) rx_thread = std::thread([&] { receiver.run(ports); });

  // Prebuilt batches, one per port.
  std::vector<Sender> senders(o.ports);
  const std::uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  for (unsigned i = 0; i < o.ports; ++i) {
    Sender& s = senders[i];
    s.msg_size = msg_size;
    s.msgs.resize(o.batch * msg_size);
    s.plain.resize(o.batch * o.frame_size);
    s.iovs.resize(o.batch);
    s.hdrs.resize(o.batch);
    const unsigned dst_port = (i + o.ports / 2) % o.ports;
    for (unsigned b = 0; b < o.batch; ++b) {
      std::uint8_t* m = &s.msgs[b * msg_size];
      std::uint8_t src[6], dst[6];
      put_mac(src, i, b % o.macs);
      put_mac(dst, dst_port, b % o.macs);
      fill_frame(&s.plain[b * o.frame_size], o.frame_size, o.mode == "broadcast" ? bcast : dst, src);
      std::memcpy(m + proto::kDataHeaderSize, &s.plain[b * o.frame_size], o.frame_size);
      s.iovs[b] = {m, msg_size};
      s.spans.emplace_back(m, msg_size);
      s.hdrs[b].msg_hdr = {};
      s.hdrs[b].msg_hdr.msg_iov = &s.iovs[b];
      s.hdrs[b].msg_hdr.msg_iovlen = 1;
    }
  }

  // The switch may still be flooding the learning phase's frames: wait until the counted
  // interface is quiet for 200 ms (at most 10 s) so that they are not counted as forwarded.
  if (!o.count_iface.empty()) {
    std::uint64_t last = iface_rx_packets(o.count_iface);
    for (int i = 0; i < 50; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const std::uint64_t v = iface_rx_packets(o.count_iface);
      if (v == last) break;
      last = v;
    }
  }
  const std::uint64_t rx0 = o.count_iface.empty() ? 0 : iface_rx_packets(o.count_iface);
  std::optional<InitiationFlood> flood;
  std::atomic<bool> flood_stop{false};
  std::thread flood_thread;
  if (o.flood_initiations > 0) {
    if (!secure) die("--flood-initiations needs --key-dir (the secure protocol)");
    flood.emplace(*server, *bind_to, *server_key);
    flood_thread = std::thread([&] { flood->run(o.flood_initiations, o.duration, flood_stop); });
  }
  std::fprintf(stderr, "load: start\n");  // the harness samples CPU between start and exit
  const std::uint64_t start = now_ns();
  const auto duration_ns = static_cast<std::uint64_t>(o.duration * 1e9);
  std::uint64_t sent = 0, refused = 0, seq = 0;
  unsigned next_port = 0, mac_cursor = 0;
  for (;;) {
    const std::uint64_t t = now_ns();
    if (t - start >= duration_ns) break;
    if (o.rate > 0 && static_cast<double>(sent + refused) >= static_cast<double>(t - start) * 1e-9 * o.rate) {
      std::this_thread::sleep_for(std::chrono::microseconds(20));  // ahead of schedule
      continue;
    }
    const unsigned i = next_port;
    next_port = (next_port + 1) % o.ports;
    Sender& s = senders[i];
    Keypair* kp = ports[i].tx();
    const auto first = kp->take_counters(o.batch);
    if (!first) die("the session may not send any more (rekey is not done under load)");
    for (unsigned b = 0; b < o.batch; ++b) {
      std::uint8_t* m = &s.msgs[b * msg_size];
      std::uint8_t* frame = m + proto::kDataHeaderSize;
      if (!kp->plaintext) std::memcpy(frame, &s.plain[b * o.frame_size], o.frame_size);
      if (o.macs > 1) {  // walk the learned MACs so lookups hit the whole table
        const unsigned mac = mac_cursor++ % o.macs;
        put_mac(frame + 6, i, mac);
        if (o.mode != "broadcast") put_mac(frame, (i + o.ports / 2) % o.ports, mac);
      }
      store_be64({frame + kStampOffset, 8}, seq++);
      store_be64({frame + kStampOffset + 8, 8}, t);
      seal(*kp, MessageKind::frame, *first + b, {m, msg_size}, o.frame_size);
    }
    if (live_sender) {  // the first message of the port's batch, whole, `live_copies` times
      std::uint8_t frame[underlay::kMaxHeaderSize + proto::v2::kOverhead + 1514];
      const auto& route = xdp_routes[i];
      std::memcpy(frame + route.header_size(), s.msgs.data(), msg_size);
      underlay::write_headers(route, {frame, route.header_size() + msg_size}, msg_size);
      if (const auto st = live_sender->send({frame, route.header_size() + msg_size}, o.live_copies); !st)
        die(st.error().message);
      sent += o.live_copies;
      continue;
    }
    if (xdp_sender) {  // back-pressure from the ring is waiting, not refusal
      sent += xdp_sender->send(xdp_routes[i], s.spans);
      continue;
    }
    const int n = sendmmsg(ports[i].fd.get(), s.hdrs.data(), o.batch, 0);
    if (n > 0) {
      sent += static_cast<std::uint64_t>(n);
      refused += o.batch - static_cast<unsigned>(n);
    } else {
      refused += o.batch;  // ECONNREFUSED/ENOBUFS: counted, not retried
    }
  }
  const double elapsed = static_cast<double>(now_ns() - start) * 1e-9;
  if (flood) {
    flood_stop = true;
    flood_thread.join();
  }
  if (xdp_sender) {
    xdp_sender->drain();
    refused = sent - std::min(sent, xdp_sender->completed());  // never completed: not sent
    sent -= refused;
  }
  if (o.receive) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // in-flight frames
    receiver.stop = true;
    rx_thread.join();
  }
  const std::uint64_t forwarded = o.receive ? receiver.received.load()
                                  : o.count_iface.empty() ? 0 : iface_rx_packets(o.count_iface) - rx0;
  if (!o.loopback) leave(ports);
  const double offered_pps = static_cast<double>(sent) / elapsed;
  const double fwd_pps = static_cast<double>(forwarded) / elapsed;
  // Broadcast frames reach N-1 ports: loss compares with what should have arrived.
  const double expected = static_cast<double>(sent) * (o.mode == "broadcast" ? o.ports - 1 : 1);
  const double loss = expected > 0 && (o.receive || !o.count_iface.empty()) ? 100.0 * (1.0 - static_cast<double>(forwarded) / expected) : -1;
  std::printf(
      "{\"protocol\":%d,\"mode\":\"%s\",\"loopback\":%s,\"ports\":%u,\"macs_per_port\":%u,\"frame_size\":%u,\"batch\":%u,"
      "\"duration_s\":%.3f,\"sent\":%llu,\"send_refused\":%llu,\"offered_pps\":%.0f,\"expected\":%.0f,\"forwarded\":%llu,"
      "\"forwarded_pps\":%.0f,\"forwarded_gbps\":%.3f,\"loss_pct\":%.2f",
      secure ? 2 : 1, o.mode.c_str(), o.loopback ? "true" : "false", o.ports, o.macs, o.frame_size, o.batch, elapsed,
      static_cast<unsigned long long>(sent), static_cast<unsigned long long>(refused), offered_pps, expected,
      static_cast<unsigned long long>(forwarded), fwd_pps, fwd_pps * o.frame_size * 8 / 1e9, loss);
  if (flood)
    std::printf(",\"flood\":{\"initiations_sent\":%llu,\"answers\":%llu}", static_cast<unsigned long long>(flood->sent()),
                static_cast<unsigned long long>(flood->answers()));
  if (o.receive)
    std::printf(",\"latency_us\":{\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"p999\":%.0f}", receiver.percentile(0.5),
                receiver.percentile(0.9), receiver.percentile(0.99), receiver.percentile(0.999));
  std::printf("}\n");
  return 0;
}
