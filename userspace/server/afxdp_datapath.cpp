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
  if (options.vxlan)
    if (auto s = slow_path->enable_vxlan(*options.vxlan); !s) return s.error();
  // RX places packets after XDP_PACKET_HEADROOM in each frame (our own headroom is 0).
  auto program =
      XdpProgram::attach(options.iface, listen, options.mode, kFrameSize - XDP_PACKET_HEADROOM, options.underlay,
                         options.vxlan ? &*options.vxlan : nullptr);
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
    dp->workers_.push_back(std::make_unique<AfxdpWorker>(std::move(sock).value(), dp->slow_path_.reply_socket(),
                                                         opts.batch, opts.busy_poll, config.max_ports,
                                                         opts.vxlan ? opts.vxlan->port() : 0));
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
  return f;
}

void AfxdpDatapath::describe(metrics::Samples& out) const {
  using metrics::Section;
  using metrics::Type;
  metrics::Collector c(out);
  const auto bpf = program_.counters();
  const std::pair<const char*, int> verdicts[] = {
      {"redirected", VSWITCH_XDP_REDIRECTED}, {"passed", VSWITCH_XDP_PASSED},
      {"malformed", VSWITCH_XDP_MALFORMED},   {"no_socket", VSWITCH_XDP_NO_SOCKET},
      {"super_packet", VSWITCH_XDP_SUPER},    {"control", VSWITCH_XDP_CONTROL},
      {"bogus_source", VSWITCH_XDP_BOGUS_SOURCE}, {"denied_source", VSWITCH_XDP_DENIED_SOURCE}};
  for (const auto& [name, slot] : verdicts)
    c.add("xdp_packets_total", "Tunnel-port packets the XDP program saw, by what it did with them.", Type::counter,
          {{"verdict", name}}, Section::datapath, std::string("bpf.") + name, bpf[slot]);
  c.add("slow_path_rx_packets_total", "Datagrams the kernel's socket received (what XDP left to the kernel).",
        Type::counter, {}, Section::datapath, "slow_path.rx", slow_path_.received());
  c.add("slow_path_vxlan_rx_packets_total", "EVPN: VXLAN datagrams the kernel's VXLAN socket received (not steered).",
        Type::counter, {}, Section::datapath, "slow_path.vxlan_rx", slow_path_.vxlan_received());
  for (const auto& w : workers_) {
    const std::string queue = std::to_string(w->socket().queue());
    const std::string q = "queue" + queue + ".";
    const QueueCounters& n = w->counters();
    const XskSocket::KernelStats k = w->socket().kernel_stats();
    auto add = [&](std::string_view family, std::string_view help, std::string key, std::uint64_t value,
                   std::vector<metrics::Label> labels) {
      labels.insert(labels.begin(), {"queue", queue});
      c.add(family, help, Type::counter, std::move(labels), Section::datapath, q + key, value);
    };
    add("afxdp_rx_packets_total", "Packets an AF_XDP worker received, by queue.", "rx", n.rx, {});
    add("afxdp_tx_packets_total", "Packets an AF_XDP worker sent, by queue and how.", "tx_in_place", n.tx_in_place,
        {{"how", "in_place"}});
    add("afxdp_tx_packets_total", "", "tx_copied", n.tx_copied, {{"how", "copied"}});
    add("afxdp_tx_packets_total", "", "tx_kernel", n.tx_kernel, {{"how", "kernel_socket"}});
    add("afxdp_tx_dropped_total", "Packets an AF_XDP worker could not send (TX ring full), by queue.", "tx_dropped",
        n.tx_dropped, {});
    add("afxdp_to_control_total", "Handshake messages a worker handed to the control thread.", "to_control",
        n.to_control, {});
    add("afxdp_batches_total", "Receive batches an AF_XDP worker processed.", "batches", n.batches, {});
    add("afxdp_kernel_drops_total", "The kernel's own AF_XDP drop counters (XDP_STATISTICS), by reason.",
        "kernel.rx_dropped", k.rx_dropped, {{"reason", "rx_dropped"}});
    add("afxdp_kernel_drops_total", "", "kernel.rx_ring_full", k.rx_ring_full, {{"reason", "rx_ring_full"}});
    add("afxdp_kernel_drops_total", "", "kernel.rx_fill_ring_empty", k.rx_fill_ring_empty,
        {{"reason", "fill_ring_empty"}});
    add("afxdp_kernel_drops_total", "", "kernel.invalid_descs", k.rx_invalid_descs + k.tx_invalid_descs,
        {{"reason", "invalid_descs"}});
  }
}

}  // namespace vswitch
