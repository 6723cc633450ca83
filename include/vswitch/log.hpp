// A small leveled logger to stderr. The per-packet path never logs; it counts.
//
// Threads that must never block (the datapath, the control thread) should not wait on a full
// pipe to journald: while an AsyncLogWriter exists, write() only copies the line into a bounded
// queue (a line that finds it full is dropped and counted) and the writer's thread does the
// write(2). Without one (tools, tests, start-up) lines are written at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vswitch::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

void set_level(Level level);
Level level();
std::optional<Level> parse_level(std::string_view text);
bool enabled(Level level);

void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Owns the thread that writes queued lines to `fd` (stderr by default). One at a time; its
// destructor writes what is still queued, then joins.
class AsyncLogWriter {
 public:
  static constexpr std::size_t kQueueLines = 512;
  explicit AsyncLogWriter(int fd = 2);
  ~AsyncLogWriter();
  AsyncLogWriter(const AsyncLogWriter&) = delete;
  AsyncLogWriter& operator=(const AsyncLogWriter&) = delete;
  // Lines dropped because the queue was full (also reported in the log once there is room).
  static std::uint64_t dropped();
};

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
