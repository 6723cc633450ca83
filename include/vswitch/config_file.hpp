// Config files: every long option is a key ("fdb-max = 65536", a flag as "insecure = true"),
// '#' and ';' start comments, a key may repeat for options that take several values. CLI11 reads
// the values; this scan runs first so that an unknown key or a malformed line is reported with
// its line number, which CLI11 does not give. No I/O here: the caller reads the file.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vswitch {

struct ConfigKey {
  std::string key;
  std::size_t line = 0;
};

struct ConfigScan {
  std::vector<ConfigKey> keys;  // in file order
  std::size_t error_line = 0;   // 0: no error
  std::string error;
};

// `known(key)`: whether the program has a long option of that name.
ConfigScan scan_config(std::string_view text, const std::function<bool(std::string_view)>& known);

// The line of the first occurrence of `key`, or 0.
std::size_t line_of(const ConfigScan& scan, std::string_view key) noexcept;

}  // namespace vswitch
