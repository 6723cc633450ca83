// Network id text form: see network_id.hpp.
#include "vswitch/network_id.hpp"

#include <charconv>

namespace vswitch {

std::optional<std::uint64_t> parse_network_id(std::string_view text) {
  const bool hex = text.starts_with("0x") || text.starts_with("0X");
  const char* begin = text.data() + (hex ? 2 : 0);
  const char* end = text.data() + text.size();
  if (begin == end) return std::nullopt;  // "" or a prefix alone
  std::uint64_t id = 0;
  // from_chars takes no sign for an unsigned type and reports overflow.
  const auto [stop, ec] = std::from_chars(begin, end, id, hex ? 16 : 10);
  if (ec != std::errc() || stop != end) return std::nullopt;
  return id;
}

std::string format_network_id(std::uint64_t id) { return std::to_string(id); }

}  // namespace vswitch
