#include "server_metrics.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace vswitch {

PortSeries::PortSeries(std::size_t limit) : limit_(limit) {
  staging_.rows.reserve(limit);
  published_.rows.reserve(limit);
}

void PortSeries::capture(const SwitchState& state) noexcept {
  staging_.rows.clear();
  staging_.omitted = 0;
  state.core.ports().for_each([&](const Port& p) {
    if (staging_.rows.size() == limit_) {
      ++staging_.omitted;
      return;
    }
    Row& r = staging_.rows.emplace_back();  // within the capacity reserved at start
    r.port = p.index;
    r.network = p.network;
    const std::string& name = state.sessions.peer(p.index).name;
    std::memcpy(r.member.data(), name.data(), std::min(name.size(), r.member.size() - 1));
    r.rx_packets = p.rx_packets;
    r.rx_bytes = p.rx_bytes;
    r.tx_packets = p.tx_packets;
    r.tx_bytes = p.tx_bytes;
    r.macs = state.core.port_macs(p.index);
  });
}

void PortSeries::commit() noexcept {
  std::lock_guard lock(mutex_);
  std::swap(staging_, published_);
}

void PortSeries::describe(metrics::Samples& out) const {
  using metrics::Section;
  using metrics::Type;
  metrics::Collector c(out);
  std::lock_guard lock(mutex_);
  for (const Row& r : published_.rows) {
    auto labels = [&] {
      return std::vector<metrics::Label>{
          {"port", std::to_string(r.port)}, {"network", std::to_string(r.network)}, {"member", r.member.data()}};
    };
    c.add("port_rx_packets_total", "Datagrams received from a port.", Type::counter, labels(), Section::none, {},
          r.rx_packets)
        .add("port_rx_bytes_total", "Bytes received from a port.", Type::counter, labels(), Section::none, {},
             r.rx_bytes)
        .add("port_tx_packets_total", "Datagrams sent to a port.", Type::counter, labels(), Section::none, {},
             r.tx_packets)
        .add("port_tx_bytes_total", "Bytes sent to a port.", Type::counter, labels(), Section::none, {}, r.tx_bytes)
        .add("port_fdb_entries", "MAC table entries of a port.", Type::gauge, labels(), Section::none, {}, r.macs);
  }
  c.add("metrics_ports_omitted", "Ports beyond --metrics-max-ports, left out of the per-port series.", Type::gauge,
        {}, Section::none, {}, published_.omitted);
}

std::string render_server_metrics(const SharedSwitch& sw, const Datapath& datapath, const ServerLoopHooks& hooks,
                                  const PortSeries& ports) {
  const report::Facts& identity = hooks.identity;
  metrics::Samples samples;
  std::vector<metrics::Label> build{{"version", VSWITCH_VERSION}};
  for (const auto& [k, v] : identity)
    if (k == "protocol") build.push_back({"protocol", v});
  metrics::Collector(samples).add("build_info", "The running vswitch: version and protocol.", metrics::Type::gauge,
                                  std::move(build), metrics::Section::none, {}, 1);
  std::vector<metrics::Label> facts;
  for (const auto& [k, v] : datapath.facts()) facts.push_back({k, v});  // fact names are label names
  metrics::Collector(samples).add("datapath_info", "The datapath and its settings.", metrics::Type::gauge,
                                  std::move(facts), metrics::Section::none, {}, 1);
  for (metrics::Sample& s : collect_samples(sw, datapath, hooks.more_samples)) samples.push_back(std::move(s));
  ports.describe(samples);
  return metrics::render_prometheus(samples);
}

}  // namespace vswitch
