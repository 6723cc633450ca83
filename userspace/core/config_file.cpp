#include "vswitch/config_file.hpp"

namespace vswitch {
namespace {

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool valid_key(std::string_view k) {
  if (k.empty() || k[0] < 'a' || k[0] > 'z') return false;  // also refuses "--listen"
  for (const char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

}  // namespace

ConfigScan scan_config(std::string_view text, const std::function<bool(std::string_view)>& known) {
  ConfigScan out;
  std::size_t line_no = 0;
  while (!text.empty() || line_no == 0) {
    const auto nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    const std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') {
      if (text.empty()) break;
      continue;
    }
    auto fail = [&](std::string message) {
      out.error_line = line_no;
      out.error = std::move(message);
      return out;
    };
    if (line[0] == '[') return fail("sections are not used: write each option as 'key = value'");
    const auto eq = line.find('=');
    const std::string_view key = trim(line.substr(0, eq));
    if (!valid_key(key)) return fail("expected 'key = value', got '" + std::string(line) + "'");
    if (key == "config" || key == "help" || !known(key))
      return fail("unknown key '" + std::string(key) + "' (the keys are the long options of --help)");
    if (eq != std::string_view::npos && trim(line.substr(eq + 1)).empty())
      return fail("'" + std::string(key) + "' has no value");
    out.keys.push_back({std::string(key), line_no});
    if (text.empty()) break;
  }
  return out;
}

std::size_t line_of(const ConfigScan& scan, std::string_view key) noexcept {
  for (const auto& k : scan.keys)
    if (k.key == key) return k.line;
  return 0;
}

}  // namespace vswitch
