#include "vswitch/log.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <thread>

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

constexpr std::size_t kLineMax = 1024;
struct Line {
  std::size_t size = 0;
  char text[kLineMax];
};

void write_fully(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to log to: nothing better to do
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// The queue between logging threads and the writer thread: a ring of whole lines.
struct Queue {
  std::mutex mutex;
  std::condition_variable ready;
  std::array<Line, AsyncLogWriter::kQueueLines> lines;
  std::size_t head = 0, size = 0;
  bool active = false, stopping = false;
  int fd = 2;
  std::uint64_t dropped = 0, dropped_reported = 0;
};

Queue& queue() {
  static Queue q;
  return q;
}

std::thread writer_thread;

void run_writer() {
  // Signals are for the threads that wait for them (a signalfd): whatever order the program
  // created things in, this thread must never be the one a SIGTERM is delivered to.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  Queue& q = queue();
  Line line;
  for (;;) {
    std::uint64_t newly_dropped = 0;
    {
      std::unique_lock lock(q.mutex);
      q.ready.wait(lock, [&] { return q.size > 0 || q.stopping; });
      if (q.size == 0) return;  // stopping, and everything is written
      line = q.lines[q.head];
      q.head = (q.head + 1) % q.lines.size();
      --q.size;
      newly_dropped = q.dropped - q.dropped_reported;
      q.dropped_reported = q.dropped;
    }
    write_fully(q.fd, line.text, line.size);
    if (newly_dropped != 0) {
      char note[128];
      const int n = std::snprintf(note, sizeof note, "(%llu log line(s) dropped: the log could not keep up)\n",
                                  static_cast<unsigned long long>(newly_dropped));
      write_fully(q.fd, note, static_cast<std::size_t>(n));
    }
  }
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
  Line line;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm parts{};
  gmtime_r(&ts.tv_sec, &parts);
  int n = std::snprintf(line.text, kLineMax, "%02d:%02d:%02d.%03ld %-5s ", parts.tm_hour, parts.tm_min, parts.tm_sec,
                        ts.tv_nsec / 1000000, name(l));
  va_list args;
  va_start(args, fmt);
  n += std::vsnprintf(line.text + n, kLineMax - static_cast<std::size_t>(n), fmt, args);
  va_end(args);
  if (n >= static_cast<int>(kLineMax)) n = kLineMax - 1;
  line.text[n++] = '\n';
  line.size = static_cast<std::size_t>(n);

  Queue& q = queue();
  {
    std::lock_guard lock(q.mutex);
    if (q.active) {
      if (q.size == q.lines.size()) {
        ++q.dropped;
        return;
      }
      q.lines[(q.head + q.size) % q.lines.size()] = line;
      ++q.size;
      q.ready.notify_one();
      return;
    }
  }
  write_fully(2, line.text, line.size);  // one write: lines never interleave
}

AsyncLogWriter::AsyncLogWriter(int fd) {
  Queue& q = queue();
  {
    std::lock_guard lock(q.mutex);
    q.fd = fd;
    q.active = true;
    q.stopping = false;
  }
  writer_thread = std::thread(run_writer);
}

AsyncLogWriter::~AsyncLogWriter() {
  Queue& q = queue();
  {
    // From here lines are written at once again; the thread drains what is queued, then ends.
    std::lock_guard lock(q.mutex);
    q.active = false;
    q.stopping = true;
    q.ready.notify_one();
  }
  writer_thread.join();
  std::lock_guard lock(q.mutex);
  q.fd = 2;
}

std::uint64_t AsyncLogWriter::dropped() {
  Queue& q = queue();
  std::lock_guard lock(q.mutex);
  return q.dropped;
}

}  // namespace vswitch::log
