// The switch core's clock: a monotonic time point passed in by the caller, so tests warp time.
#pragma once

#include <chrono>

namespace vswitch {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

inline double seconds_between(TimePoint from, TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace vswitch
