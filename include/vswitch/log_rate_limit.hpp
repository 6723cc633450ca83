// A budget of log lines for one kind of event: a burst, then a steady rate. Events past the
// budget are counted, not logged, and the next line that is logged says how many were held
// back, so a flood of joins or refusals costs a few lines a second and hides nothing.
// Thread-safe: several threads report events, and none of them is on the per-packet path.
#pragma once

#include <cstdint>
#include <mutex>

#include "vswitch/time.hpp"

namespace vswitch {

class LogRateLimit {
 public:
  LogRateLimit(double per_second, double burst) : per_second_(per_second), burst_(burst), tokens_(burst) {}

  // True when this event may be logged; `held_back` is then how many were not since the last
  // one that was.
  bool admit(TimePoint now, std::uint64_t& held_back) noexcept {
    std::lock_guard lock(mutex_);
    if (refilled_ != TimePoint{}) {
      const double earned = std::chrono::duration<double>(now - refilled_).count() * per_second_;
      tokens_ = tokens_ + earned < burst_ ? tokens_ + earned : burst_;
    }
    refilled_ = now;
    if (tokens_ < 1) {
      ++held_back_;
      return false;
    }
    tokens_ -= 1;
    held_back = held_back_;
    held_back_ = 0;
    return true;
  }

 private:
  std::mutex mutex_;
  const double per_second_, burst_;
  double tokens_;
  TimePoint refilled_{};
  std::uint64_t held_back_ = 0;
};

}  // namespace vswitch
