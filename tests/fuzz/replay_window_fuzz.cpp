// libFuzzer target for ReplayWindow: the input drives a sequence of counters, each judged by the
// window and by a direct statement of its contract (a std::set of seen counters plus the newest);
// any disagreement traps. Built with clang and -DVSWITCH_FUZZ=ON.
//
// Input: 8-byte little-endian words. The low 2 bits of a word choose how the rest (v) becomes a
// counter, so that mutations stay near the interesting places instead of spraying 2^64:
//   0: newest + v % 2^14 (ahead, possibly skipping blocks or a whole ring)
//   1: newest - v % 2^14 (late, across the window's edge)
//   2: v itself (anywhere; 0 and small counters early on)
//   3: 2^64 - 1 - v % 2^15, near the reject limit; or, when v % 2^15 == 0, reset both sides
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>

#include "vswitch/replay_window.hpp"

namespace {

using vswitch::ReplayWindow;

class ReferenceWindow {
 public:
  bool check_and_update(std::uint64_t counter) {
    if (counter >= ReplayWindow::kRejectAfterMessages) return false;
    if (newest_ && counter + ReplayWindow::kWindow < *newest_) return false;
    if (!seen_.insert(counter).second) return false;
    if (!newest_ || counter > *newest_) {
      newest_ = counter;
      if (counter > ReplayWindow::kWindow)
        seen_.erase(seen_.begin(), seen_.lower_bound(counter - ReplayWindow::kWindow));
    }
    return true;
  }
  void reset() {
    seen_.clear();
    newest_.reset();
  }
  std::uint64_t newest() const { return newest_.value_or(0); }

 private:
  std::set<std::uint64_t> seen_;
  std::optional<std::uint64_t> newest_;
};

std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ReplayWindow window;
  ReferenceWindow model;
  constexpr std::uint64_t kMax = ~std::uint64_t{0};
  for (std::size_t off = 0; off + 8 <= size; off += 8) {
    const std::uint64_t word = load_le64(data + off);
    const std::uint64_t v = word >> 2;
    const std::uint64_t newest = model.newest();
    std::uint64_t counter = 0;
    switch (word & 3) {
      case 0: {
        const std::uint64_t delta = v % (1u << 14);
        counter = newest > kMax - delta ? kMax : newest + delta;
        break;
      }
      case 1: {
        const std::uint64_t delta = v % (1u << 14);
        counter = newest < delta ? 0 : newest - delta;
        break;
      }
      case 2:
        counter = v;
        break;
      default:
        if (v % (1u << 15) == 0) {
          window.reset();
          model.reset();
          if (window.newest() != 0) __builtin_trap();
          continue;
        }
        counter = kMax - v % (1u << 15);
        break;
    }
    if (window.check_and_update(counter) != model.check_and_update(counter)) __builtin_trap();
    if (window.newest() != model.newest()) __builtin_trap();
  }
  return 0;
}
