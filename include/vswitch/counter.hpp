// Counters written by one thread and read by another (the control or logging side): a relaxed
// load and store is enough, and keeps locked read-modify-writes off the per-packet path.
#pragma once

#include <atomic>
#include <cstdint>

namespace vswitch {

using Counter = std::atomic<std::uint64_t>;

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

inline void bump(Counter& counter, std::uint64_t n = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline std::uint64_t read(const Counter& counter) noexcept { return counter.load(std::memory_order_relaxed); }

}  // namespace vswitch
