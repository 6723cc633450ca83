// Counters that one writer at a time updates (a thread that owns them, or whoever holds the lock
// that guards them) and anyone reads at any time, lock-free: the control thread, `vswitchctl
// stats`, the Prometheus endpoint. A relaxed load and store is enough for that, and keeps locked
// read-modify-writes off the per-packet path (on x86 both are plain moves).
#pragma once

#include <atomic>
#include <cstdint>

namespace vswitch {

class Counter {
 public:
  constexpr Counter(std::uint64_t value = 0) noexcept : value_(value) {}  // NOLINT: a number
  // Copies are snapshots (StatsRow and the like), taken while the writer may go on.
  Counter(const Counter& other) noexcept : value_(other.load()) {}
  Counter& operator=(const Counter& other) noexcept {
    store(other.load());
    return *this;
  }

  std::uint64_t load() const noexcept { return value_.load(std::memory_order_relaxed); }
  void store(std::uint64_t value) noexcept { value_.store(value, std::memory_order_relaxed); }
  // Not atomic read-modify-writes: only the one writer of the moment may call these.
  Counter& operator+=(std::uint64_t n) noexcept {
    store(load() + n);
    return *this;
  }
  Counter& operator-=(std::uint64_t n) noexcept {
    store(load() - n);
    return *this;
  }
  Counter& operator++() noexcept { return *this += 1; }
  Counter& operator--() noexcept { return *this -= 1; }
  operator std::uint64_t() const noexcept { return load(); }  // NOLINT: reads like the number it is

 private:
  std::atomic<std::uint64_t> value_;
};

inline void bump(Counter& counter, std::uint64_t n = 1) noexcept { counter += n; }
inline std::uint64_t read(const Counter& counter) noexcept { return counter.load(); }

// An atomic that its owner may copy or move while nobody else looks at it yet (set-up, when the
// owner is moved into place); after that, an atomic like any other.
template <class T>
struct Relaxed : std::atomic<T> {
  using std::atomic<T>::atomic;
  Relaxed(const Relaxed& other) noexcept : std::atomic<T>(other.load(std::memory_order_relaxed)) {}
  Relaxed& operator=(const Relaxed& other) noexcept {
    this->store(other.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return *this;
  }
};

}  // namespace vswitch
