// Network ids as people type them: on the command line (vport --network) and in members files.
// A network id is a 64-bit number; it isolates one virtual switch from another on one server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vswitch {

// Decimal ("42"), or hex with a 0x/0X prefix ("0x2a"). No sign, no spaces, no overflow.
std::optional<std::uint64_t> parse_network_id(std::string_view text);
// Decimal: what parse_network_id reads back to the same value.
std::string format_network_id(std::uint64_t id);

}  // namespace vswitch
