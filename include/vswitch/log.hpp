// A small leveled logger to stderr. The per-packet path never logs; it counts.
#pragma once

#include <optional>
#include <string_view>

namespace vswitch::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

void set_level(Level level);
Level level();
std::optional<Level> parse_level(std::string_view text);
bool enabled(Level level);

void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace vswitch::log

#define VS_LOG(lvl, ...)                                                                   \
  do {                                                                                     \
    if (::vswitch::log::enabled(::vswitch::log::Level::lvl))                               \
      ::vswitch::log::write(::vswitch::log::Level::lvl, __VA_ARGS__);                      \
  } while (0)
#define VS_ERROR(...) VS_LOG(error, __VA_ARGS__)
#define VS_WARN(...) VS_LOG(warn, __VA_ARGS__)
#define VS_INFO(...) VS_LOG(info, __VA_ARGS__)
#define VS_DEBUG(...) VS_LOG(debug, __VA_ARGS__)
