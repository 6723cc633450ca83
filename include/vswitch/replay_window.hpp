// Anti-replay for one session's receive direction (RFC 6479), judged after authentication.
//
// The session layer opens a DATA message, and only if the AEAD tag verified asks this window
// whether the message's counter is new. A ring of 128 blocks of 64 bits remembers which of the
// most recent counters arrived, so reordering by the underlay (multipath, queues, batching on
// the sender) costs nothing while a replayed or very old message is dropped.
//
// Why a ring of blocks rather than one shifted bitmap: moving ahead never shifts bits; it only
// zeroes the blocks it skips over, so the cost of a jump is bounded by the ring size and the
// common case (the next counter, same block) touches one word. One block is kept as slack
// so that the oldest counter still judged never shares its block with the newest: the window
// is kBits - 64 counters behind the newest, exactly as WireGuard's counter_validate.
//
// Not thread-safe: one receive path owns a session's window.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace vswitch {

class ReplayWindow {
 public:
  static constexpr std::size_t kBits = 8192;
  static constexpr std::uint64_t kWindow = kBits - 64;  // counters this far behind the newest are still judged
  // Messages counted 2^64 - 2^13 - 1 and beyond are never accepted (the WireGuard paper's
  // Reject-After-Messages): the sender must rekey long before, and the margin keeps the
  // arithmetic below far from overflow.
  static constexpr std::uint64_t kRejectAfterMessages = ~std::uint64_t{0} - (std::uint64_t{1} << 13);

  // Call only after the message authenticated: an unauthenticated counter would let anyone
  // move the window ahead and make the peer's genuine traffic look old.
  // true: the counter is new and inside the window (now recorded); false: a replay, older than
  // the window, or >= kRejectAfterMessages.
  bool check_and_update(std::uint64_t counter) noexcept;
  void reset() noexcept;  // as new: nothing seen
  // Newest counter accepted so far, 0 when none (for statistics).
  std::uint64_t newest() const noexcept { return next_ == 0 ? 0 : next_ - 1; }

 private:
  static constexpr std::size_t kBlockBits = 64;
  static constexpr std::size_t kBlocks = kBits / kBlockBits;
  static_assert((kBlocks & (kBlocks - 1)) == 0, "ring index is taken with a mask");

  // Counters are stored plus one, so that 0 means "nothing accepted yet" while counter 0 stays a
  // valid first message. Bit positions use the same shifted numbering.
  std::uint64_t next_ = 0;
  std::array<std::uint64_t, kBlocks> blocks_{};
};

}  // namespace vswitch
