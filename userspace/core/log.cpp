#include "vswitch/log.hpp"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace vswitch::log {
namespace {

std::atomic<Level> current{Level::info};

const char* name(Level level) {
  switch (level) {
    case Level::error: return "error";
    case Level::warn: return "warn";
    case Level::info: return "info";
    case Level::debug: return "debug";
  }
  return "?";
}

}  // namespace

void set_level(Level level) { current.store(level, std::memory_order_relaxed); }
Level level() { return current.load(std::memory_order_relaxed); }
bool enabled(Level l) { return static_cast<int>(l) <= static_cast<int>(level()); }

std::optional<Level> parse_level(std::string_view text) {
  if (text == "error") return Level::error;
  if (text == "warn" || text == "warning") return Level::warn;
  if (text == "info") return Level::info;
  if (text == "debug") return Level::debug;
  return std::nullopt;
}

void write(Level l, const char* fmt, ...) {
  char line[1024];
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm parts{};
  gmtime_r(&ts.tv_sec, &parts);
  int n = std::snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %-5s ", parts.tm_hour,
                        parts.tm_min, parts.tm_sec, ts.tv_nsec / 1000000, name(l));
  va_list args;
  va_start(args, fmt);
  n += std::vsnprintf(line + n, sizeof line - static_cast<std::size_t>(n), fmt, args);
  va_end(args);
  if (n >= static_cast<int>(sizeof line)) n = sizeof line - 1;
  line[n++] = '\n';
  std::fwrite(line, 1, static_cast<std::size_t>(n), stderr);  // one write: lines never interleave
}

}  // namespace vswitch::log
