#include "vswitch/replay_window.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <optional>
#include <random>
#include <set>
#include <span>

using namespace vswitch;

namespace {

constexpr std::uint64_t kWindow = ReplayWindow::kWindow;
constexpr std::uint64_t kReject = ReplayWindow::kRejectAfterMessages;
// One past the window: with this as the newest, counter 0 is the oldest still judged.
constexpr std::uint64_t kLim = kWindow + 1;

struct Step {
  std::uint64_t counter;
  bool accepted;
};

void run_steps(ReplayWindow& window, std::span<const Step> steps) {
  for (std::size_t i = 0; i < steps.size(); ++i)
    EXPECT_EQ(window.check_and_update(steps[i].counter), steps[i].accepted)
        << "step " << i + 1 << ", counter " << steps[i].counter;
}

std::uint64_t add_saturating(std::uint64_t a, std::uint64_t b) {
  return a > ~std::uint64_t{0} - b ? ~std::uint64_t{0} : a + b;
}
std::uint64_t sub_saturating(std::uint64_t a, std::uint64_t b) { return a < b ? 0 : a - b; }

// What the window promises, stated directly: a counter below the limit is accepted once, unless
// it is more than kWindow behind the newest accepted one.
class ReferenceWindow {
 public:
  bool check_and_update(std::uint64_t counter) {
    if (counter >= kReject) return false;
    if (newest_ && counter + kWindow < *newest_) return false;
    if (!seen_.insert(counter).second) return false;
    if (!newest_ || counter > *newest_) {
      newest_ = counter;
      // Counters behind the window can never be judged again: forget them to stay small.
      if (counter > kWindow) seen_.erase(seen_.begin(), seen_.lower_bound(counter - kWindow));
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

}  // namespace

// The single-step cases of WireGuard's selftest/counter.c, in order, on one window.
TEST(ReplayWindow, WireGuardSelftestSequence) {
  const Step steps[] = {
      {0, true},  // 0 is a valid first counter
      {1, true},
      {1, false},  // replay
      {9, true},   // skipping ahead leaves 2..8 acceptable
      {8, true},
      {7, true},
      {7, false},
      {kLim, true},  // now 0 is the oldest counter still judged
      {kLim - 1, true},
      {kLim - 1, false},
      {kLim - 2, true},
      {2, true},  // exactly at the window's far edge, never seen
      {2, false},
      {kLim + 16, true},  // 2 and 3 fall out of the window
      {3, false},
      {kLim + 16, false},
      {kLim * 4, true},  // a jump of several blocks
      {kLim * 4 - (kLim - 1), true},
      {10, false},
      {kLim * 4 - kLim, false},  // one behind the edge
      {kLim * 4 - (kLim + 1), false},
      {kLim * 4 - (kLim - 2), true},
      {kLim * 4 + 1 - kLim, false},  // = kLim * 4 - (kLim - 1), already seen
      {0, false},
      {kReject, false},  // never accepted, even as the newest
      {kReject - 1, true},
      {kReject, false},
      {kReject - 1, false},
      {kReject - 2, true},
      {kReject + 1, false},
      {kReject + 2, false},
      {kReject - 2, false},
      {kReject - 3, true},
      {0, false},
  };
  static_assert(std::size(steps) == 34);
  ReplayWindow window;
  run_steps(window, steps);
}

// The bulk cases of the same selftest: the whole window filled in each direction.
TEST(ReplayWindow, FillAscendingThenZeroAtTheEdge) {
  ReplayWindow window;
  for (std::uint64_t i = 1; i <= kWindow; ++i) ASSERT_TRUE(window.check_and_update(i)) << i;
  EXPECT_TRUE(window.check_and_update(0));  // newest - kWindow: still inside
  EXPECT_FALSE(window.check_and_update(0));
}

TEST(ReplayWindow, FillAscendingThenZeroJustOutside) {
  ReplayWindow window;
  for (std::uint64_t i = 2; i <= kWindow + 1; ++i) ASSERT_TRUE(window.check_and_update(i)) << i;
  EXPECT_TRUE(window.check_and_update(1));
  EXPECT_FALSE(window.check_and_update(0));
}

TEST(ReplayWindow, FillDescendingDownToZero) {
  ReplayWindow window;
  for (std::uint64_t i = kWindow + 1; i-- > 0;) ASSERT_TRUE(window.check_and_update(i)) << i;
}

TEST(ReplayWindow, FillDescendingFromOneFurtherThenZeroRefused) {
  ReplayWindow window;
  for (std::uint64_t i = kWindow + 2; i-- > 1;) ASSERT_TRUE(window.check_and_update(i)) << i;
  EXPECT_FALSE(window.check_and_update(0));
}

TEST(ReplayWindow, FillDescendingThenStepAheadPushesZeroOut) {
  ReplayWindow window;
  for (std::uint64_t i = kWindow + 1; i-- > 1;) ASSERT_TRUE(window.check_and_update(i)) << i;
  EXPECT_TRUE(window.check_and_update(kWindow + 1));
  EXPECT_FALSE(window.check_and_update(0));
}

TEST(ReplayWindow, FillDescendingThenZeroThenStepAhead) {
  ReplayWindow window;
  for (std::uint64_t i = kWindow + 1; i-- > 1;) ASSERT_TRUE(window.check_and_update(i)) << i;
  EXPECT_TRUE(window.check_and_update(0));
  EXPECT_TRUE(window.check_and_update(kWindow + 1));
}

TEST(ReplayWindow, WindowEdgeAtEveryBlockOffset) {
  // The edge must sit at exactly kWindow behind the newest whatever the newest's position in
  // its 64-bit block.
  for (std::uint64_t newest = 100'000; newest < 100'000 + 130; ++newest) {
    ReplayWindow window;
    ASSERT_TRUE(window.check_and_update(newest));
    EXPECT_FALSE(window.check_and_update(newest - kWindow - 1)) << newest;
    EXPECT_TRUE(window.check_and_update(newest - kWindow)) << newest;
    EXPECT_FALSE(window.check_and_update(newest - kWindow)) << newest;
    EXPECT_TRUE(window.check_and_update(newest - 1)) << newest;
    EXPECT_EQ(window.newest(), newest);
  }
}

TEST(ReplayWindow, OutOfOrderInsideTheWindowAcceptedOnce) {
  ReplayWindow window;
  std::mt19937_64 rng(7);
  std::array<std::uint64_t, 500> counters{};
  for (std::size_t i = 0; i < counters.size(); ++i) counters[i] = 50'000 + i * 13;
  std::shuffle(counters.begin(), counters.end(), rng);  // spread is 6.5k < kWindow
  for (auto c : counters) EXPECT_TRUE(window.check_and_update(c)) << c;
  for (auto c : counters) EXPECT_FALSE(window.check_and_update(c)) << c;
  EXPECT_EQ(window.newest(), 50'000 + 499 * 13);
}

TEST(ReplayWindow, JumpAheadForgetsStaleBitsInReusedBlocks) {
  // After a jump of one ring's worth (or more) every slot is reused: bits left over from the
  // old counters must not make the new ones look replayed.
  for (std::uint64_t jump : {std::uint64_t{ReplayWindow::kBits}, std::uint64_t{ReplayWindow::kBits} - 64,
                             std::uint64_t{ReplayWindow::kBits} + 64, std::uint64_t{3} * ReplayWindow::kBits + 5}) {
    ReplayWindow window;
    for (std::uint64_t i = 0; i < 9000; ++i) ASSERT_TRUE(window.check_and_update(i));
    const std::uint64_t top = 8999 + jump;
    ASSERT_TRUE(window.check_and_update(top));
    for (std::uint64_t c = top - kWindow; c < top; ++c)
      ASSERT_EQ(window.check_and_update(c), c > 8999) << "jump " << jump << " counter " << c;
  }
}

TEST(ReplayWindow, RejectAfterMessagesBoundary) {
  ReplayWindow window;
  EXPECT_FALSE(window.check_and_update(~std::uint64_t{0}));
  EXPECT_FALSE(window.check_and_update(kReject));
  EXPECT_EQ(window.newest(), 0u);  // refused counters move nothing
  EXPECT_TRUE(window.check_and_update(kReject - 1));
  EXPECT_EQ(window.newest(), kReject - 1);
  EXPECT_FALSE(window.check_and_update(kReject - 1 - kWindow - 1));
  EXPECT_TRUE(window.check_and_update(kReject - 1 - kWindow));
  EXPECT_TRUE(window.check_and_update(kReject - 2));
  EXPECT_FALSE(window.check_and_update(0));
}

TEST(ReplayWindow, ResetForgetsEverything) {
  ReplayWindow window;
  EXPECT_EQ(window.newest(), 0u);
  EXPECT_TRUE(window.check_and_update(0));
  EXPECT_TRUE(window.check_and_update(123'456));
  EXPECT_EQ(window.newest(), 123'456u);
  window.reset();
  EXPECT_EQ(window.newest(), 0u);
  EXPECT_TRUE(window.check_and_update(5));  // far behind the forgotten newest
  EXPECT_TRUE(window.check_and_update(0));
  EXPECT_TRUE(window.check_and_update(123'456));
  EXPECT_EQ(window.newest(), 123'456u);
}

// Random traffic clustered around the newest counter (reordering, duplicates, the window's edge,
// jumps, the reject limit, resets) against ReferenceWindow.
TEST(ReplayWindow, MatchesReferenceModelUnderRandomTraffic) {
  ReplayWindow window;
  ReferenceWindow model;
  std::mt19937_64 rng(20261201);
  std::array<std::uint64_t, 16> recent{};
  std::size_t accepted = 0;
  constexpr int kOps = 300'000;
  for (int op = 0; op < kOps; ++op) {
    const std::uint64_t newest = model.newest();
    const std::uint64_t r = rng();
    const std::uint64_t pick = r % 10'000;
    const std::uint64_t arg = r >> 16;
    std::uint64_t counter = 0;
    if (pick < 4'000) {
      counter = add_saturating(newest, arg % 70);  // in order or slightly ahead
    } else if (pick < 7'000) {
      counter = sub_saturating(newest, arg % (kWindow + 100));  // late arrivals
    } else if (pick < 8'000) {
      counter = add_saturating(sub_saturating(newest, kWindow + 3), arg % 7);  // the edge
    } else if (pick < 9'000) {
      counter = recent[arg % recent.size()];  // duplicates
    } else if (pick < 9'800) {
      counter = add_saturating(newest, ReplayWindow::kBits - 128 + arg % (3 * ReplayWindow::kBits));
    } else if (pick < 9'990) {
      counter = arg;  // anywhere (mostly a huge jump)
    } else if (pick < 9'995) {
      counter = kReject - arg % (2 * ReplayWindow::kBits);  // up against the limit
    } else {
      window.reset();
      model.reset();
      continue;
    }
    recent[static_cast<std::size_t>(op) % recent.size()] = counter;
    const bool expected = model.check_and_update(counter);
    ASSERT_EQ(window.check_and_update(counter), expected) << "op " << op << ", counter " << counter
                                                          << ", newest " << newest;
    ASSERT_EQ(window.newest(), model.newest()) << "op " << op;
    accepted += expected;
  }
  // Both outcomes must be well exercised for the comparison to mean anything.
  EXPECT_GT(accepted, kOps / 5u);
  EXPECT_LT(accepted, kOps * 4u / 5u);
}
