#include "vswitch/replay_window.hpp"

#include <algorithm>

namespace vswitch {

bool ReplayWindow::check_and_update(std::uint64_t counter) noexcept {
  if (counter >= kRejectAfterMessages) return false;
  const std::uint64_t shifted = counter + 1;  // cannot wrap: counter < kRejectAfterMessages
  // Written as an addition so that nothing underflows while fewer than kWindow have been seen.
  if (shifted + kWindow < next_) return false;

  const std::uint64_t block = shifted / kBlockBits;
  if (shifted > next_) {
    // Moving ahead: the blocks between the newest one and the new one hold bits of counters
    // that left the window long ago (a ring slot is reused every kBlocks blocks). Past a whole
    // ring's worth there is nothing left to keep.
    const std::uint64_t current = next_ / kBlockBits;
    const std::uint64_t skipped = std::min<std::uint64_t>(block - current, kBlocks);
    for (std::uint64_t i = 1; i <= skipped; ++i) blocks_[(current + i) & (kBlocks - 1)] = 0;
    next_ = shifted;
  }

  std::uint64_t& word = blocks_[block & (kBlocks - 1)];
  const std::uint64_t bit = std::uint64_t{1} << (shifted & (kBlockBits - 1));
  if ((word & bit) != 0) return false;
  word |= bit;
  return true;
}

void ReplayWindow::reset() noexcept {
  next_ = 0;
  blocks_.fill(0);
}

}  // namespace vswitch
