// What the MAC table did to its local entries (a MAC now reachable on one of our ports, or no
// longer), for EVPN: a thread of its own mirrors them into the kernel, where FRR's zebra reads
// them (docs/architecture.md, "EVPN"). Written by the table and drained by that thread, both
// under the switch lock, so a plain ring will do; allocated once, so learning never allocates.
// When the ring is full the oldest changes are lost and overflowed() tells the reader to
// compare the whole table instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vswitch {

struct FdbChange {
  std::uint64_t network = 0;
  std::uint64_t mac = 0;  // MacAddr::to_u64()
  bool added = false;     // true: reachable here now; false: not any more
};

class FdbChangeLog {
 public:
  explicit FdbChangeLog(std::size_t capacity) : ring_(capacity == 0 ? 1 : capacity) {}

  void push(const FdbChange& c) noexcept {
    if (size_ == ring_.size()) {
      overflowed_ = true;
      head_ = (head_ + 1) % ring_.size();
      --size_;
    }
    ring_[(head_ + size_) % ring_.size()] = c;
    ++size_;
  }
  // Moves up to `max` changes, oldest first, to `out` (which the caller reserved).
  std::size_t drain(std::vector<FdbChange>& out, std::size_t max) noexcept {
    std::size_t n = 0;
    for (; n < max && size_ > 0 && out.size() < out.capacity(); ++n, --size_) {
      out.push_back(ring_[head_]);
      head_ = (head_ + 1) % ring_.size();
    }
    return n;
  }
  // True once after changes were lost.
  bool take_overflow() noexcept {
    const bool was = overflowed_;
    overflowed_ = false;
    return was;
  }
  std::size_t size() const noexcept { return size_; }

 private:
  std::vector<FdbChange> ring_;
  std::size_t head_ = 0, size_ = 0;
  bool overflowed_ = false;
};

}  // namespace vswitch
