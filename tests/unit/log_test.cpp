// The log's budgets and its writer thread: lines arrive whole and in order, a full queue drops
// and says so, and a budget holds lines back with a count.
#include "vswitch/log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "vswitch/log_rate_limit.hpp"

using namespace vswitch;
using namespace std::chrono_literals;

namespace {

// Everything readable from `fd` until the writer closed its end.
std::string drain(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

}  // namespace

TEST(LogRateLimit, BurstThenRateWithHeldBackCounts) {
  LogRateLimit budget(2, 3);
  const TimePoint t0 = TimePoint{} + 100s;
  std::uint64_t held = 99;
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += budget.admit(t0, held);
  EXPECT_EQ(admitted, 3);
  EXPECT_FALSE(budget.admit(t0 + 100ms, held));   // 0.2 tokens: not yet
  ASSERT_TRUE(budget.admit(t0 + 500ms, held));    // 1 token earned
  EXPECT_EQ(held, 8u);                            // 7 refused at t0 and 1 at +100 ms
  ASSERT_TRUE(budget.admit(t0 + 1000ms, held));
  EXPECT_EQ(held, 0u);
  for (int i = 0; i < 5; ++i) budget.admit(t0 + 1000s, held);  // refilled to the burst only
  EXPECT_FALSE(budget.admit(t0 + 1000s, held));
}

TEST(AsyncLogWriter, WritesEveryLineInOrderAndDrainsOnDestruction) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    log::AsyncLogWriter writer(fds[1]);
    for (int i = 0; i < 100; ++i) log::write(log::Level::info, "line %d", i);
  }
  ::close(fds[1]);
  const std::string out = drain(fds[0]);
  ::close(fds[0]);
  std::size_t at = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string want = "line " + std::to_string(i) + "\n";
    const auto found = out.find(want, at);
    ASSERT_NE(found, std::string::npos) << i;
    at = found + want.size();
  }
}

TEST(AsyncLogWriter, AFullQueueDropsLinesAndSaysHowMany) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  // A pipe nobody reads yet: the writer thread blocks on it once it is full, as on a stuck
  // journald, and the queue behind it fills. Logging must still return at once.
  ASSERT_EQ(::fcntl(fds[1], F_SETPIPE_SZ, 4096), 4096);
  const auto before = log::AsyncLogWriter::dropped();
  std::string out;
  std::thread reader;
  {
    log::AsyncLogWriter writer(fds[1]);
    const auto start = Clock::now();
    for (int i = 0; i < 5000; ++i) log::write(log::Level::info, "%0200d", i);
    EXPECT_LT(Clock::now() - start, 2s);  // never waited for the reader
    EXPECT_GE(log::AsyncLogWriter::dropped() - before, 5000u - log::AsyncLogWriter::kQueueLines - 30);
    reader = std::thread([&] { out = drain(fds[0]); });
  }  // the writer drains the queue into the pipe, now read
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  EXPECT_NE(out.find("log line(s) dropped"), std::string::npos);
}
