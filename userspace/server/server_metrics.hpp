// What `vswitch --metrics` serves: every switch-wide counter (collect_samples, lock-free), what
// the server is (version, protocol, datapath facts as an info series), and per-port series for
// at most `--metrics-max-ports` ports.
//
// Per-port numbers live in the port table, which only the switch lock guards, and a scraper is
// an outsider who decides how often it asks. So a scrape never takes the switch lock: the
// maintenance tick, which holds it once a second anyway, copies the first ports into storage
// allocated at start (capture), and after releasing it hands the copy over under a lock of
// this class's own (commit). Per-port series are therefore up to a second old.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "server_loop.hpp"
#include "vswitch/metrics.hpp"

namespace vswitch {

class PortSeries {
 public:
  explicit PortSeries(std::size_t limit);

  // The maintenance tick's thread only: capture under the switch lock, commit after it.
  void capture(const SwitchState& state) noexcept;
  void commit() noexcept;
  // The metrics thread.
  void describe(metrics::Samples& out) const;

 private:
  struct Row {
    PortIndex port = kNoPort;
    std::uint64_t network = 0;
    std::array<char, 64> member{};  // the member's name, cut to fit (no allocation under the lock)
    std::uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0, macs = 0;
  };
  struct Table {
    std::vector<Row> rows;  // capacity `limit`, never grown
    std::size_t omitted = 0;
  };
  std::size_t limit_;
  Table staging_;
  mutable std::mutex mutex_;  // guards published_
  Table published_;
};

// The exposition text of one scrape.
std::string render_server_metrics(const SharedSwitch& sw, const Datapath& datapath, const ServerLoopHooks& hooks,
                                  const PortSeries& ports);

}  // namespace vswitch
