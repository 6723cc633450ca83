// Renders the switch's state for vswitchctl: human tables or stable JSON. Pure functions of
// the core's state and the time, so the output is unit-tested directly.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vswitch/switch_core.hpp"
#include "vswitch/time.hpp"

namespace vswitch::report {

enum class Format { text, json };

// Datapath facts shown by `stats` (name, mode, per-queue counters...), in display order.
using Facts = std::vector<std::pair<std::string, std::string>>;

std::string ports(const SwitchCore& core, TimePoint now, Format format);
std::string fdb(const SwitchCore& core, TimePoint now, Format format);
std::string stats(const SwitchCore& core, const Facts& datapath, Format format);

// JSON string literal with escaping.
std::string json_string(std::string_view text);

}  // namespace vswitch::report
