// Renders the switch's state for vswitchctl: human tables or stable JSON. The server takes a
// snapshot under the switch lock (plain rows, no pointers) and renders it after releasing the
// lock; both halves are pure functions, unit-tested directly.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vswitch/switch_state.hpp"
#include "vswitch/metrics.hpp"
#include "vswitch/switch_stats.hpp"
#include "vswitch/time.hpp"

namespace vswitch::report {

enum class Format { text, json };

// Datapath facts shown by `stats` (name, mode, per-queue counters...), in display order.
using Facts = std::vector<std::pair<std::string, std::string>>;

// The "format" of every --json answer: raised only when a key changes meaning or goes away
// (new keys may appear without it).
inline constexpr unsigned kJsonFormat = 1;

struct PortRow {
  PortIndex id = kNoPort;
  bool secure = false;
  bool active = false;  // its client confirmed the session
  bool vtep = false;    // EVPN: another server's VTEP (endpoint: its address)
  std::string member;      // v2: the member's name
  std::string public_key;  // v2: base64
  std::string suite;       // cipher suite, or "plaintext"
  std::string endpoint;
  std::uint64_t network = 0;
  std::uint16_t mtu = 0;
  std::size_t macs = 0;
  std::uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  double last_seen_s = 0;     // since its last authenticated packet
  double handshake_s = 0;     // since its last handshake (v1: its join)
  double uptime_s = 0;
};
struct FdbRow {
  std::uint64_t network = 0;
  std::uint64_t mac = 0;
  PortIndex port = kNoPort;
  double age_s = 0;
  std::string vtep;  // EVPN: behind this server (remote entries), else empty
};
// The table sizes `vswitchctl show` gives (Counters: read without the lock).
struct StatsRow {
  std::size_t ports = 0, fdb_entries = 0, fdb_max = 0;
};

// Under the switch lock:
std::vector<PortRow> snapshot_ports(const SwitchState& state, TimePoint now);
// A piece of the MAC table: appends the live entries at pool positions [from, from + count) and
// returns where the next piece starts (the table's size when done), so the caller can release
// the lock between pieces of a large table.
std::size_t snapshot_fdb(const SwitchState& state, TimePoint now, std::size_t from, std::size_t count,
                         std::vector<FdbRow>& rows);

// Anywhere (no lock needed):
StatsRow snapshot_stats(const SwitchState& state);
std::string ports(const std::vector<PortRow>& rows, Format format);
std::string fdb(std::vector<FdbRow> rows, Format format);
// `vswitchctl stats`: the datapath's facts, then every sample of a vswitchctl section (metrics.hpp).
std::string stats(bool secure, const Facts& datapath, const metrics::Samples& samples, Format format);
// `vswitchctl show`: the server (`server`: public key, listen address, protocol), its datapath,
// and per network the members online, like `wg show`.
std::string show(const Facts& server, const Facts& datapath, const StatsRow& stats, const std::vector<PortRow>& rows,
                 Format format);

// JSON string literal with escaping.
std::string json_string(std::string_view text);

}  // namespace vswitch::report
