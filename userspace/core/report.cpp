#include "vswitch/report.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "vswitch/keys.hpp"

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

std::string short_key(const std::string& key) { return key.size() > 12 ? key.substr(0, 12) + "..." : key; }

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

std::vector<PortRow> snapshot_ports(const SwitchState& state, TimePoint now) {
  std::vector<PortRow> rows;
  state.core.ports().for_each([&](const Port& p) {
    const PeerSession& s = state.sessions.peer(p.index);
    PortRow r;
    r.id = p.index;
    r.secure = s.secure;
    r.active = p.active;
    r.vtep = p.remote;
    if (s.secure) {
      r.member = s.name;
      r.public_key = key_to_base64(s.key);
    }
    const Keypair* kp = s.current != nullptr ? s.current : s.next;
    r.suite = p.remote ? "vxlan" : !s.secure ? "plaintext" : kp != nullptr ? std::string(to_string(kp->send.suite())) : "none";
    r.endpoint = s.endpoint.empty() ? "-" : s.endpoint.to_string();
    r.network = p.network;
    r.mtu = p.mtu;
    r.macs = state.core.port_macs(p.index);
    r.rx_packets = p.rx_packets;
    r.rx_bytes = p.rx_bytes;
    r.tx_packets = p.tx_packets;
    r.tx_bytes = p.tx_bytes;
    r.last_seen_s = seconds_between(s.last_rx, now);
    r.handshake_s = seconds_between(s.last_handshake, now);
    r.uptime_s = seconds_between(p.joined, now);
    rows.push_back(std::move(r));
  });
  std::sort(rows.begin(), rows.end(), [](const PortRow& a, const PortRow& b) { return a.id < b.id; });
  return rows;
}

std::size_t snapshot_fdb(const SwitchState& state, TimePoint now, std::size_t from, std::size_t count,
                         std::vector<FdbRow>& rows) {
  const Fdb& fdb = state.core.fdb();
  return fdb.for_each_from(from, count, [&](const Fdb::Entry& e) {
    if (!e.remote && now - e.last_seen > fdb.aging()) return;
    rows.push_back({e.network, e.mac, e.port, seconds_between(e.last_seen, now),
                    e.remote ? state.sessions.peer(e.port).endpoint.to_string() : std::string()});
  });
}

StatsRow snapshot_stats(const SwitchState& state) {
  return {state.core.ports().size(), state.core.fdb().size(), state.core.fdb().max_entries()};
}

std::string ports(const std::vector<PortRow>& rows, Format format) {
  if (format == Format::json) {
    std::string out = "{\"format\":" + u64(kJsonFormat) + ",\"ports\":[";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const PortRow& p = rows[i];
      out += (i ? "," : "") + std::string("{\"id\":") + u64(p.id) + ",\"member\":" + json_string(p.member) +
             ",\"public_key\":" + json_string(p.public_key) + ",\"network\":" + u64(p.network) +
             ",\"suite\":" + json_string(p.suite) + ",\"active\":" + (p.active ? "true" : "false") +
             ",\"endpoint\":" + json_string(p.endpoint) + ",\"mtu\":" + u64(p.mtu) + ",\"macs\":" + u64(p.macs) +
             ",\"rx_packets\":" + u64(p.rx_packets) + ",\"rx_bytes\":" + u64(p.rx_bytes) +
             ",\"tx_packets\":" + u64(p.tx_packets) + ",\"tx_bytes\":" + u64(p.tx_bytes) +
             ",\"last_seen_s\":" + fixed(p.last_seen_s, 3) + ",\"last_handshake_s\":" + fixed(p.handshake_s, 3) +
             ",\"uptime_s\":" + fixed(p.uptime_s, 3) + "}";
    }
    return out + "]}\n";
  }
  std::vector<std::vector<std::string>> table_rows{{"PORT", "MEMBER", "PUBLIC_KEY", "NETWORK", "SUITE", "HANDSHAKE",
                                                    "ENDPOINT", "MTU", "MACS", "RX_PKTS", "RX_BYTES", "TX_PKTS",
                                                    "TX_BYTES", "LAST_SEEN"}};
  for (const PortRow& p : rows)
    table_rows.push_back({u64(p.id), p.secure ? p.member : "-", p.secure ? short_key(p.public_key) : "-",
                          u64(p.network), p.active ? p.suite : p.suite + " (unconfirmed)",
                          fixed(p.handshake_s, 0) + "s ago", p.endpoint, u64(p.mtu), u64(p.macs), u64(p.rx_packets),
                          u64(p.rx_bytes), u64(p.tx_packets), u64(p.tx_bytes), fixed(p.last_seen_s, 1) + "s ago"});
  return table(table_rows) + std::to_string(rows.size()) + " port(s)\n";
}

std::string show(const Facts& server, const Facts& datapath, const StatsRow& stats, const std::vector<PortRow>& rows,
                 Format format) {
  std::vector<const PortRow*> sorted;
  for (const PortRow& p : rows) sorted.push_back(&p);
  std::sort(sorted.begin(), sorted.end(), [](const PortRow* a, const PortRow* b) {
    return a->network != b->network ? a->network < b->network : a->id < b->id;
  });
  if (format == Format::json) {
    auto object = [](const Facts& facts) {
      std::string o = "{";
      for (std::size_t i = 0; i < facts.size(); ++i)
        o += (i ? "," : "") + json_string(facts[i].first) + ":" + json_string(facts[i].second);
      return o + "}";
    };
    std::string out = "{\"format\":" + u64(kJsonFormat) + ",\"server\":" + object(server) +
                      ",\"datapath\":" + object(datapath) + ",\"ports\":" + u64(stats.ports) +
                      ",\"fdb_entries\":" + u64(stats.fdb_entries) + ",\"fdb_max\":" + u64(stats.fdb_max) +
                      ",\"networks\":[";
    for (std::size_t i = 0; i < sorted.size();) {
      const std::uint64_t net = sorted[i]->network;
      std::string members, vteps;
      for (; i < sorted.size() && sorted[i]->network == net; ++i) {
        const PortRow& p = *sorted[i];
        if (p.vtep) {
          vteps += (vteps.empty() ? "" : ",") + std::string("{\"address\":") + json_string(p.endpoint) +
                   ",\"macs\":" + u64(p.macs) + ",\"flood\":" + (p.active ? "true" : "false") + "}";
          continue;
        }
        members += (members.empty() ? "" : ",") + std::string("{\"port\":") + u64(p.id) +
                   ",\"member\":" + json_string(p.member) + ",\"public_key\":" + json_string(p.public_key) +
                   ",\"endpoint\":" + json_string(p.endpoint) + ",\"suite\":" + json_string(p.suite) +
                   ",\"last_handshake_s\":" + fixed(p.handshake_s, 3) + ",\"macs\":" + u64(p.macs) +
                   ",\"rx_bytes\":" + u64(p.rx_bytes) + ",\"tx_bytes\":" + u64(p.tx_bytes) + "}";
      }
      out += (out.back() == '[' ? "" : ",") + std::string("{\"network\":") + u64(net) + ",\"members\":[" + members +
             "],\"vteps\":[" + vteps + "]}";
    }
    return out + "]}\n";
  }
  std::string out = "server:\n";
  for (const auto& [k, v] : server) out += "  " + k + ": " + v + "\n";
  if (!datapath.empty()) out += "  datapath: " + datapath.front().second + "\n";
  out += "  ports: " + u64(stats.ports) + ", MAC entries: " + u64(stats.fdb_entries) + " of " + u64(stats.fdb_max) + "\n";
  for (std::size_t i = 0; i < sorted.size();) {
    const std::uint64_t net = sorted[i]->network;
    std::string members, vteps;
    std::size_t n = 0;
    for (; i < sorted.size() && sorted[i]->network == net; ++i) {
      const PortRow& p = *sorted[i];
      if (p.vtep) {
        vteps += (vteps.empty() ? "" : ", ") + p.endpoint + " (" + u64(p.macs) + " MACs" + (p.active ? "" : ", no floods") + ")";
        continue;
      }
      ++n;
      members += "  " + (p.secure ? p.member + " (" + short_key(p.public_key) + ")" : "port " + u64(p.id)) + "\n";
      members += "    endpoint: " + p.endpoint + ", " + p.suite + (p.active ? "" : " (unconfirmed)") + "\n";
      members += "    latest handshake: " + fixed(p.handshake_s, 0) + " s ago, MACs: " + u64(p.macs) +
                 ", transfer: " + u64(p.rx_bytes) + " B received, " + u64(p.tx_bytes) + " B sent\n";
    }
    out += "\nnetwork " + u64(net) + ": " + u64(n) + " member(s) online\n" + members;
    if (!vteps.empty()) out += "  other servers (EVPN VTEPs): " + vteps + "\n";
  }
  return out;
}

std::string fdb(std::vector<FdbRow> rows, Format format) {
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.network != b.network ? a.network < b.network : a.mac < b.mac;
  });
  if (format == Format::json) {
    std::string out = "{\"format\":" + u64(kJsonFormat) + ",\"fdb\":[";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& e = rows[i];
      out += (i ? "," : "") + std::string("{\"network\":") + u64(e.network) +
             ",\"mac\":" + json_string(MacAddr::from_u64(e.mac).to_string()) + ",\"port\":" + u64(e.port) +
             ",\"age_s\":" + fixed(e.age_s, 3) + (e.vtep.empty() ? "" : ",\"vtep\":" + json_string(e.vtep)) + "}";
    }
    return out + "]}\n";
  }
  // A VTEP column only where other servers' MACs are (EVPN).
  const bool remote = std::any_of(rows.begin(), rows.end(), [](const FdbRow& e) { return !e.vtep.empty(); });
  std::vector<std::vector<std::string>> table_rows{{"NETWORK", "MAC", "PORT", "AGE"}};
  if (remote) table_rows.front().push_back("VTEP");
  for (const auto& e : rows) {
    table_rows.push_back({u64(e.network), MacAddr::from_u64(e.mac).to_string(), u64(e.port), fixed(e.age_s, 1) + "s"});
    if (remote) table_rows.back().push_back(e.vtep.empty() ? "-" : e.vtep);
  }
  return table(table_rows) + std::to_string(rows.size()) + " entr" + (rows.size() == 1 ? "y" : "ies") + "\n";
}

std::string stats(bool secure, const Facts& datapath, const metrics::Samples& samples, Format format) {
  using metrics::Section;
  auto each = [&](Section section, auto&& fn) {
    for (const metrics::Sample& s : samples)
      if (s.section == section) fn(s);
  };
  if (format == Format::json) {
    std::string out = "{\"format\":" + u64(kJsonFormat) + ",\"mode\":" + json_string(secure ? "secure" : "insecure");
    auto object = [&](std::string_view name, Section section, const Facts& facts) {
      out += ",\"" + std::string(name) + "\":{";
      bool first = true;
      for (const auto& [k, v] : facts) {
        out += (first ? "" : ",") + json_string(k) + ":" + json_string(v);
        first = false;
      }
      each(section, [&](const metrics::Sample& s) {
        out += (first ? "" : ",") + json_string(s.key) + ":" + u64(s.value);
        first = false;
      });
      out += "}";
    };
    object("datapath", Section::datapath, datapath);
    object("counters", Section::counters, {});
    object("drops", Section::drops, {});
    object("handshakes_refused", Section::handshakes_refused, {});
    return out + "}\n";
  }
  std::vector<std::vector<std::string>> rows{{"mode", secure ? "secure (protocol v2)" : "INSECURE (protocol v1)"}};
  for (const auto& [k, v] : datapath) rows.push_back({k, v});
  each(Section::datapath, [&](const metrics::Sample& s) { rows.push_back({s.key, u64(s.value)}); });
  each(Section::counters, [&](const metrics::Sample& s) { rows.push_back({s.key, u64(s.value)}); });
  each(Section::drops, [&](const metrics::Sample& s) {
    if (s.value != 0) rows.push_back({"drop." + s.key, u64(s.value)});
  });
  each(Section::handshakes_refused, [&](const metrics::Sample& s) {
    if (s.value != 0) rows.push_back({"refused." + s.key, u64(s.value)});
  });
  return table(rows);
}

}  // namespace vswitch::report
