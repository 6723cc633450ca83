#include "afxdp_datapath.hpp"

#include <linux/bpf.h>

#include <filesystem>

#include "vswitch/log.hpp"
#include "vswitch/udp_batch.hpp"

namespace vswitch {

std::uint32_t count_rx_queues(const std::string& ifname) {
  std::error_code ec;
  std::uint32_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net/" + ifname + "/queues", ec))
    if (entry.path().filename().string().starts_with("rx-")) ++n;
  return n;
}

std::uint16_t AfxdpDatapath::max_mtu() {
  return static_cast<std::uint16_t>(kFrameSize - XDP_PACKET_HEADROOM - underlay::kMaxHeaderSize - protocol::v2::kOverhead -
                                    protocol::kEthernetHeaderSize - protocol::kVlanTagSize);
}

Result<std::unique_ptr<AfxdpDatapath>> AfxdpDatapath::open(const Endpoint& listen, const SwitchConfig& config,
                                                           const AfxdpOptions& options) {
  if (config.mtu > max_mtu())
    return Error{"the afxdp datapath carries MTUs up to " + std::to_string(max_mtu()) + " (--mtu)"};
  const std::uint32_t available = count_rx_queues(options.iface);
  if (available == 0) return Error{"interface '" + options.iface + "' not found"};
  AfxdpOptions opts = options;
  if (opts.queues == 0) opts.queues = available;
  if (opts.queues > available || opts.queues > VSWITCH_XDP_MAX_QUEUES)
    return Error{options.iface + " has " + std::to_string(available) + " receive queue(s); --queues " +
                 std::to_string(opts.queues) + " is too many"};
  // Fragments, uncovered queues and what the XDP program leaves to the kernel (super-packets in
  // generic mode) take the slow path. No UDP_GRO on it: a GRO-enabled socket on the tunnel port
  // would make the NIC's GRO merge tunnel packets, which generic XDP would then see whole.
  auto slow_path = SocketDatapath::open(listen, config.mtu, config.max_ports, {.udp_gro = false, .udp_gso = true},
                                        options.underlay);
  if (!slow_path) return slow_path.error();
  // RX places packets after XDP_PACKET_HEADROOM in each frame (our own headroom is 0).
  auto program =
      XdpProgram::attach(options.iface, listen, options.mode, kFrameSize - XDP_PACKET_HEADROOM, options.underlay);
  if (!program) return program.error();
  std::unique_ptr<AfxdpDatapath> dp(new AfxdpDatapath(std::move(program).value(),
                                                      std::move(slow_path).value(), config.max_ports, opts));
  for (std::uint32_t q = 0; q < opts.queues; ++q) {
    XskConfig xc;
    xc.queue = q;
    xc.frame_size = kFrameSize;
    xc.force_copy = opts.force_copy;
    xc.force_zero_copy = opts.force_zero_copy;
    xc.busy_poll = opts.busy_poll;
    xc.batch = opts.batch;
    xc.ring_size = opts.ring_size;
    xc.frames = 2 * opts.ring_size;
    auto sock = XskSocket::open(options.iface, xc, dp->program_.xsk_map_fd());
    if (!sock) return sock.error();
    dp->workers_.push_back(std::make_unique<AfxdpWorker>(std::move(sock).value(), dp->slow_path_.fd(),
                                                         opts.batch, opts.busy_poll, config.max_ports));
  }
  return dp;
}

AfxdpDatapath::AfxdpDatapath(XdpProgram program, SocketDatapath slow_path, std::size_t max_ports,
                             AfxdpOptions options)
    : program_(std::move(program)),
      slow_path_(std::move(slow_path)),
      options_(std::move(options)),
      routes_(max_ports) {}

AfxdpDatapath::~AfxdpDatapath() { stop(); }

Status AfxdpDatapath::start(SharedSwitch& sw, HandshakeWorker& handshakes) {
  if (auto s = slow_path_.start(sw, handshakes); !s) return s;
  for (auto& w : workers_)
    threads_.emplace_back([this, &sw, &handshakes, worker = w.get()] { worker->run(sw, handshakes, routes_, stop_); });
  VS_INFO("afxdp datapath on %s: %s XDP, %zu queue(s), %s mode, batch %u%s", options_.iface.c_str(),
          program_.native() ? "native" : "generic", workers_.size(),
          workers_.front()->socket().zero_copy() ? "zero-copy" : "copy", options_.batch,
          options_.busy_poll ? ", busy polling" : "");
  return Ok{};
}

void AfxdpDatapath::stop() noexcept {
  stop_.store(true);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

report::Facts AfxdpDatapath::facts() const {
  report::Facts f{{"datapath", "afxdp"},
                  {"iface", options_.iface},
                  {"xdp_mode", program_.native() ? "native" : "generic"},
                  {"xsk_bind", workers_.front()->socket().zero_copy() ? "zero-copy" : "copy"},
                  {"queues", std::to_string(workers_.size())},
                  {"batch", std::to_string(options_.batch)},
                  {"ring_size", std::to_string(options_.ring_size)},
                  {"busy_poll", options_.busy_poll ? "on" : "off"}};
  const auto bpf = program_.counters();
  f.emplace_back("bpf.redirected", std::to_string(bpf[VSWITCH_XDP_REDIRECTED]));
  f.emplace_back("bpf.passed", std::to_string(bpf[VSWITCH_XDP_PASSED]));
  f.emplace_back("bpf.malformed", std::to_string(bpf[VSWITCH_XDP_MALFORMED]));
  f.emplace_back("bpf.no_socket", std::to_string(bpf[VSWITCH_XDP_NO_SOCKET]));
  f.emplace_back("bpf.super_packet", std::to_string(bpf[VSWITCH_XDP_SUPER]));
  f.emplace_back("bpf.control", std::to_string(bpf[VSWITCH_XDP_CONTROL]));
  f.emplace_back("bpf.bogus_source", std::to_string(bpf[VSWITCH_XDP_BOGUS_SOURCE]));
  f.emplace_back("bpf.denied_source", std::to_string(bpf[VSWITCH_XDP_DENIED_SOURCE]));
  f.emplace_back("slow_path.rx", std::to_string(slow_path_.received()));
  for (const auto& w : workers_) {
    const std::string q = "queue" + std::to_string(w->socket().queue()) + ".";
    const QueueCounters& c = w->counters();
    f.emplace_back(q + "rx", std::to_string(c.rx.load()));
    f.emplace_back(q + "tx_in_place", std::to_string(c.tx_in_place.load()));
    f.emplace_back(q + "tx_copied", std::to_string(c.tx_copied.load()));
    f.emplace_back(q + "tx_dropped", std::to_string(c.tx_dropped.load()));
    f.emplace_back(q + "tx_kernel", std::to_string(c.tx_kernel.load()));
    f.emplace_back(q + "to_control", std::to_string(c.to_control.load()));
    f.emplace_back(q + "batches", std::to_string(c.batches.load()));
    const XskSocket::KernelStats k = w->socket().kernel_stats();
    f.emplace_back(q + "kernel.rx_dropped", std::to_string(k.rx_dropped));
    f.emplace_back(q + "kernel.rx_ring_full", std::to_string(k.rx_ring_full));
    f.emplace_back(q + "kernel.rx_fill_ring_empty", std::to_string(k.rx_fill_ring_empty));
    f.emplace_back(q + "kernel.invalid_descs", std::to_string(k.rx_invalid_descs + k.tx_invalid_descs));
  }
  return f;
}

}  // namespace vswitch
