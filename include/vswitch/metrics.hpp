// Typed counters, one source for every rendering. Each component that counts (the switch, the
// control thread, the lock, a datapath) describes its numbers as Samples; `vswitchctl stats`
// (text and JSON) and the Prometheus endpoint (`vswitch --metrics`) render the same list. Every
// number a component describes is a Counter (counter.hpp) or another lock-free read, so nothing
// here takes the switch lock.
//
// A sample has two names: its Prometheus family (text exposition format: "vswitch_" prefix,
// base units, counters ending in "_total", reasons and queues as labels, never a MAC address)
// and the key vswitchctl has always shown (`rx_frames`, `queue0.rx`, `drop.bad_tag`). Either may
// be absent: a sum that Prometheus computes itself has no family, an info series no key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vswitch::metrics {

enum class Type : std::uint8_t { counter, gauge };

// Where vswitchctl shows a sample (`vswitchctl stats --json` objects of the same names).
enum class Section : std::uint8_t {
  none,                // Prometheus only
  datapath,            // beside the datapath's facts
  counters,            // the switch-wide numbers
  drops,               // by reason
  handshakes_refused,  // by reason
};

struct Label {
  std::string name;
  std::string value;
};

struct Sample {
  std::string_view family;  // without the "vswitch_" prefix; empty: not exported
  std::string_view help;
  Type type = Type::counter;
  std::vector<Label> labels;
  Section section = Section::none;
  std::string key;  // vswitchctl's name within its section
  std::uint64_t value = 0;
  double scale = 1.0;  // Prometheus shows value * scale (nanoseconds as seconds)
};
using Samples = std::vector<Sample>;

// Appends samples, reading numbers as they are at the call.
class Collector {
 public:
  explicit Collector(Samples& out) : out_(out) {}

  // A number vswitchctl shows in `section` as `key` and Prometheus as `family{labels}`.
  Collector& add(std::string_view family, std::string_view help, Type type, std::vector<Label> labels, Section section,
                 std::string key, std::uint64_t value, double scale = 1.0);
  Collector& counter(std::string_view family, std::string_view help, std::string key, std::uint64_t value,
                     std::vector<Label> labels = {}) {
    return add(family, help, Type::counter, std::move(labels), Section::counters, std::move(key), value);
  }
  Collector& gauge(std::string_view family, std::string_view help, std::string key, std::uint64_t value,
                   std::vector<Label> labels = {}) {
    return add(family, help, Type::gauge, std::move(labels), Section::counters, std::move(key), value);
  }

 private:
  Samples& out_;
};

// The text exposition format (version 0.0.4): samples of one family together under one HELP
// and TYPE, in the order families first appear; label values escaped.
std::string render_prometheus(const Samples& samples);

// A label value or help text escaped for the exposition format.
std::string escape_label_value(std::string_view value);

}  // namespace vswitch::metrics
