// A mutex that records how long it is held: the worst single hold (wall clock, and on-CPU time
// of the holding thread) and how many holds passed 100 us and 1 ms. The switch lock is one
// (shared_switch.hpp): its holds bound how long any AF_XDP queue can stall behind maintenance, a
// handshake or a control request, so the numbers are shown by `vswitchctl stats` rather than
// asserted. Wall time includes the holder being preempted (on a busy 2-core machine, a whole
// scheduler slice of milliseconds); on-CPU time is the work done under the lock. Packet threads
// take the lock once per batch: two clock reads of each kind per batch (the thread CPU clock is
// a system call, ~0.2 us: a fraction of a percent of a 64-packet batch).
#pragma once

#include <time.h>

#include <cstdint>
#include <mutex>

#include "vswitch/counter.hpp"
#include "vswitch/metrics.hpp"
#include "vswitch/time.hpp"

namespace vswitch {

class HoldTimedMutex {
 public:
  void lock() {
    mutex_.lock();
    started();
  }
  bool try_lock() {
    if (!mutex_.try_lock()) return false;
    started();
    return true;
  }
  void unlock() {
    record(Clock::now() - since_, thread_cpu_ns() - cpu_since_ns_);
    mutex_.unlock();
  }

  std::uint64_t max_hold_ns() const noexcept { return read(max_hold_ns_); }
  std::uint64_t max_hold_cpu_ns() const noexcept { return read(max_hold_cpu_ns_); }
  std::uint64_t holds_over_100us() const noexcept { return read(over_100us_); }
  std::uint64_t holds_over_1ms() const noexcept { return read(over_1ms_); }
  void describe(metrics::Samples& out) const {
    metrics::Collector(out)
        .add("lock_hold_max_seconds", "The switch lock's longest single hold, wall clock.", metrics::Type::gauge, {},
             metrics::Section::counters, "lock_hold_max_ns", max_hold_ns(), 1e-9)
        .add("lock_hold_cpu_max_seconds", "The switch lock's longest single hold, on the holder's CPU clock.",
             metrics::Type::gauge, {}, metrics::Section::counters, "lock_hold_cpu_max_ns", max_hold_cpu_ns(), 1e-9)
        .counter("lock_holds_over_100us_total", "Holds of the switch lock longer than 100 us.",
                 "lock_holds_over_100us", holds_over_100us())
        .counter("lock_holds_over_1ms_total", "Holds of the switch lock longer than 1 ms.", "lock_holds_over_1ms",
                 holds_over_1ms());
  }

 private:
  static std::uint64_t thread_cpu_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
  }
  void started() noexcept {
    since_ = Clock::now();
    cpu_since_ns_ = thread_cpu_ns();
  }
  // Called with the mutex held: one writer at a time, so relaxed counters suffice.
  void record(Duration held, std::uint64_t cpu_ns) noexcept {
    const auto ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(held).count());
    if (ns > read(max_hold_ns_)) max_hold_ns_.store(ns);
    if (cpu_ns > read(max_hold_cpu_ns_)) max_hold_cpu_ns_.store(cpu_ns);
    if (ns > 100'000) bump(over_100us_);
    if (ns > 1'000'000) bump(over_1ms_);
  }

  std::mutex mutex_;
  TimePoint since_{};
  std::uint64_t cpu_since_ns_ = 0;
  Counter max_hold_ns_{0}, max_hold_cpu_ns_{0}, over_100us_{0}, over_1ms_{0};
};

}  // namespace vswitch
