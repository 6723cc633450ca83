// One session's transport state (WireGuard's "keypair"): the keys of both directions, the send
// counter and the receive replay window, plus the indices that name it on the wire. Protocol v2
// keypairs seal with an AEAD; v1 keypairs (`plaintext`) only write the DATA header, so both
// versions go through the same seal/open seam.
//
// Threads: a keypair is created and published by one thread (index last, release), then used by
// any number of packet threads without a lock: the send counter is an atomic fetch_add, the
// replay window has its own spinlock, keys are read-only. It is wiped only after an epoch grace
// period (epoch.hpp), when no packet thread can still hold it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "vswitch/aead.hpp"
#include "vswitch/fdb.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/protocol_v2.hpp"
#include "vswitch/replay_window.hpp"
#include "vswitch/time.hpp"

namespace vswitch {

// WireGuard's limits (timers and counters of docs/protocol.md).
inline constexpr std::uint64_t kRekeyAfterMessages = std::uint64_t{1} << 60;
inline constexpr std::uint64_t kRejectAfterMessages = ReplayWindow::kRejectAfterMessages;
inline constexpr auto kRekeyAfterTime = std::chrono::seconds(120);
inline constexpr auto kRejectAfterTime = std::chrono::seconds(180);

// What a DATA-family message carries.
enum class MessageKind : std::uint8_t { frame, keepalive, control };

class Keypair {
 public:
  Keypair() = default;
  Keypair(const Keypair&) = delete;
  Keypair& operator=(const Keypair&) = delete;

  // The index our peer's messages carry; 0 while the keypair is not published.
  std::atomic<std::uint32_t> local_index{0};
  std::uint32_t remote_index = 0;  // the index our messages carry
  bool plaintext = false;          // protocol v1
  TransportKey send;
  TransportKey receive;
  TimePoint created{};
  PortIndex port = kNoPort;  // server: the port this session belongs to
  bool initiator = false;
  std::uint32_t pool_slot = 0;  // where its pool keeps it (fixed for the object's life)

  // Bytes around a payload: header, plus the tag in v2.
  std::size_t overhead() const noexcept {
    return protocol::kDataHeaderSize + (plaintext ? 0 : protocol::v2::kTagSize);
  }
  // `n` consecutive send counters, or nullopt when the keypair has sent all it may.
  std::optional<std::uint64_t> take_counters(std::uint64_t n) noexcept {
    const std::uint64_t first = send_counter_.fetch_add(n, std::memory_order_relaxed);
    if (n == 0 || first > kRejectAfterMessages - n) return std::nullopt;
    return first;
  }
  std::uint64_t sent() const noexcept { return send_counter_.load(std::memory_order_relaxed); }

  // After the message authenticated: true when its counter is new (and now recorded).
  bool accept_counter(std::uint64_t counter) noexcept;

  // Back to a blank slot: keys wiped, counter and window reset. The index is the caller's.
  void reset() noexcept;
  // Tests reuse one client-side object for successive sessions.
  void reset_counters_for_test() noexcept {
    send_counter_.store(0);
    replay_.reset();
  }

 private:
  std::atomic<std::uint64_t> send_counter_{0};
  std::atomic_flag replay_lock_ = ATOMIC_FLAG_INIT;
  ReplayWindow replay_;
};

// Writes the header in front of a payload already at message[header .. header + payload_size)
// and seals it: v2 encrypts the payload in place and appends the tag; v1 writes DATA (or
// KEEPALIVE when the payload is empty). Returns the message size. `message` must hold
// overhead() + payload_size bytes. For v2, `kind` control makes a CONTROL message.
std::size_t seal(const Keypair& keypair, MessageKind kind, std::uint64_t counter, std::span<std::uint8_t> message,
                 std::size_t payload_size) noexcept;

// Verifies a DATA-family message for `keypair` in place (v2: tag, then decrypt; v1: nothing to
// verify) and returns its payload, or nullopt. The counter is not judged here: accept_counter()
// runs after, so that a forged message never advances the window.
std::optional<std::span<std::uint8_t>> open(const Keypair& keypair, std::span<std::uint8_t> message) noexcept;

}  // namespace vswitch
