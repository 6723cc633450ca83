// Counters written by one thread and read by another (the control or logging side): a relaxed
// load and store is enough, and keeps locked read-modify-writes off the per-packet path.
#pragma once

#include <atomic>
#include <cstdint>

namespace vswitch {

using Counter = std::atomic<std::uint64_t>;

inline void bump(Counter& counter, std::uint64_t n = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline std::uint64_t read(const Counter& counter) noexcept { return counter.load(std::memory_order_relaxed); }

}  // namespace vswitch
