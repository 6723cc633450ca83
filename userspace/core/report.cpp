#include "vswitch/report.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

namespace vswitch::report {
namespace {

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string u64(std::uint64_t v) { return std::to_string(v); }

// Left-aligned columns, widths from the widest cell.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string ports(const SwitchCore& core, TimePoint now, Format format) {
  std::vector<const Port*> list;
  core.ports().for_each([&](const Port& p) { list.push_back(&p); });
  std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->index < b->index; });
  if (format == Format::json) {
    std::string out = "{\"ports\":[";
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Port& p = *list[i];
      out += (i ? "," : "") + std::string("{\"id\":") + u64(p.index) +
             ",\"endpoint\":" + json_string(p.endpoint.to_string()) +
             ",\"network\":" + u64(p.network) + ",\"mtu\":" + u64(p.mtu) +
             ",\"macs\":" + u64(p.mac_count) + ",\"rx_packets\":" + u64(p.rx_packets) +
             ",\"rx_bytes\":" + u64(p.rx_bytes) + ",\"tx_packets\":" + u64(p.tx_packets) +
             ",\"tx_bytes\":" + u64(p.tx_bytes) +
             ",\"last_seen_s\":" + fixed(seconds_between(p.last_seen, now), 3) +
             ",\"uptime_s\":" + fixed(seconds_between(p.joined, now), 3) + "}";
    }
    return out + "]}\n";
  }
  std::vector<std::vector<std::string>> rows{{"PORT", "ENDPOINT", "NETWORK", "MTU", "MACS",
                                              "RX_PKTS", "RX_BYTES", "TX_PKTS", "TX_BYTES",
                                              "LAST_SEEN"}};
  for (const Port* p : list)
    rows.push_back({u64(p->index), p->endpoint.to_string(), u64(p->network), u64(p->mtu),
                    u64(p->mac_count), u64(p->rx_packets), u64(p->rx_bytes), u64(p->tx_packets),
                    u64(p->tx_bytes), fixed(seconds_between(p->last_seen, now), 1) + "s ago"});
  return table(rows) + std::to_string(list.size()) + " port(s)\n";
}

std::string fdb(const SwitchCore& core, TimePoint now, Format format) {
  std::vector<Fdb::Entry> entries;
  core.fdb().for_each([&](const Fdb::Entry& e) {
    if (now - e.last_seen <= core.fdb().aging()) entries.push_back(e);
  });
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.network != b.network ? a.network < b.network : a.mac < b.mac;
  });
  if (format == Format::json) {
    std::string out = "{\"fdb\":[";
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto& e = entries[i];
      out += (i ? "," : "") + std::string("{\"network\":") + u64(e.network) +
             ",\"mac\":" + json_string(MacAddr::from_u64(e.mac).to_string()) +
             ",\"port\":" + u64(e.port) +
             ",\"age_s\":" + fixed(seconds_between(e.last_seen, now), 3) + "}";
    }
    return out + "]}\n";
  }
  std::vector<std::vector<std::string>> rows{{"NETWORK", "MAC", "PORT", "AGE"}};
  for (const auto& e : entries)
    rows.push_back({u64(e.network), MacAddr::from_u64(e.mac).to_string(), u64(e.port),
                    fixed(seconds_between(e.last_seen, now), 1) + "s"});
  return table(rows) + std::to_string(entries.size()) + " entr" +
         (entries.size() == 1 ? "y" : "ies") + "\n";
}

std::string stats(const SwitchCore& core, const Facts& datapath, Format format) {
  const SwitchStats& s = core.stats();
  const std::vector<std::pair<std::string, std::uint64_t>> counters{
      {"rx_packets", s.rx_packets},
      {"rx_bytes", s.rx_bytes},
      {"tx_packets", s.tx_packets},
      {"tx_bytes", s.tx_bytes},
      {"rx_frames", s.rx_frames},
      {"unicast", s.unicast},
      {"flooded", s.flooded},
      {"flood_copies", s.flood_copies},
      {"filtered", s.filtered},
      {"learned", s.learned},
      {"moved", s.moved},
      {"aged", s.aged},
      {"learn_refused_fdb_full", s.learn_refused_fdb_full},
      {"learn_refused_port_limit", s.learn_refused_port_limit},
      {"ports", core.ports().size()},
      {"fdb_entries", core.fdb().size()},
      {"ports_joined", s.ports_joined},
      {"ports_left", s.ports_left},
      {"ports_timed_out", s.ports_timed_out},
      {"control_replies_suppressed", s.control_replies_suppressed},
      {"drops_total", s.drops_total()},
  };
  if (format == Format::json) {
    std::string out = "{\"datapath\":{";
    for (std::size_t i = 0; i < datapath.size(); ++i)
      out += (i ? "," : "") + json_string(datapath[i].first) + ":" + json_string(datapath[i].second);
    out += "},\"counters\":{";
    for (std::size_t i = 0; i < counters.size(); ++i)
      out += (i ? "," : "") + json_string(counters[i].first) + ":" + u64(counters[i].second);
    out += "},\"drops\":{";
    for (std::size_t i = 0; i < kDropReasonCount; ++i)
      out += (i ? "," : "") + json_string(to_string(static_cast<DropReason>(i))) + ":" +
             u64(s.drops[i]);
    return out + "}}\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, v] : datapath) rows.push_back({k, v});
  for (const auto& [k, v] : counters) rows.push_back({k, u64(v)});
  for (std::size_t i = 0; i < kDropReasonCount; ++i)
    if (s.drops[i] != 0)
      rows.push_back({"drop." + std::string(to_string(static_cast<DropReason>(i))), u64(s.drops[i])});
  return table(rows);
}

}  // namespace vswitch::report
