// vport's session with the server, as a pure state machine: it takes messages and the time and
// says what to send; PortClient moves the bytes (socket, TAP) and logs the events.
//
// States: joining (handshake attempts every second, with jitter; every 5 s after 90 s without
// an answer) and joined. Joined means a keypair to send with:
//  - v2: Noise IK initiation -> response (or a cookie reply first, under load); the new keypair is
//    used at once and confirmed to the server by an immediate keepalive; rekey after 120 s,
//    refuse a keypair after 180 s; an authenticated PING every keepalive interval (also while
//    frames arrive: the server must hear a receive-only port), a new handshake after three silent
//    intervals (an idle client notices a restarted
//    server within about three seconds). An encrypted BYE from the server starts over at once.
//  - v1: HELLO -> CHALLENGE -> HELLO with the token -> WELCOME; KEEPALIVE as the ping; an
//    (unauthenticated) BYE, as v1 always did, starts over.
// Unauthenticated hints (ICMP, a version-mismatch BYE) only speed up a handshake or produce a
// log line: they never end a v2 session.
//
// Threads: everything runs on the main thread except tx_keypair(), which transmit threads call
// (an atomic load) while they are online in the epoch domain; retired keypairs are reused only
// after the domain's grace period, so a transmit thread never seals with a wiped key.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vswitch/epoch.hpp"
#include "vswitch/handshake.hpp"
#include "vswitch/keypair.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/protocol_v2.hpp"
#include "vswitch/time.hpp"

namespace vswitch {

struct ClientSessionConfig {
  std::uint64_t network = 1;
  std::uint16_t mtu = 1400;
  Duration keepalive = std::chrono::seconds(1);  // ping this often; the server is lost after 3x silence
  Duration retry = std::chrono::seconds(1);      // handshake attempts while joining
  Duration slow_retry = std::chrono::seconds(5);  // ... after kRetryFastFor without an answer
  std::uint8_t suites = 0;                        // v2: offered (suite_bit set)
};

struct ClientEvent {
  enum class Kind : std::uint8_t {
    joined,           // a session exists (first, or again after losing one)
    rekeyed,          // a new session replaced a working one
    mtu_lowered,      // the server granted less than asked: `value` is the MTU
    no_answer,        // still joining after `value` seconds
    server_lost,      // silence: three keepalive intervals
    server_goodbye,   // the server ended the session (`reason`: shutdown, revoked, ...)
    cookie,           // the server is under load: retrying with a cookie
    needs_keys,       // a v1 client talking to a secure server
    needs_insecure,   // a v2 client talking to an insecure server
    expired,          // the keypair reached its lifetime without a new one
  };
  Kind kind;
  std::uint64_t value = 0;
  std::string reason;
};

class ClientSession {
 public:
  static constexpr auto kRetryFastFor = std::chrono::seconds(90);
  static constexpr std::size_t kMaxMessage = protocol::v2::initiation::kSize;

  // Outgoing messages and events of one call; at most a few of each.
  struct Output {
    std::vector<std::vector<std::uint8_t>> messages;
    std::vector<ClientEvent> events;
    void clear() {
      messages.clear();
      events.clear();
    }
  };

  // Secure when `handshake` is given, else protocol v1. `epochs`: the transmit threads' domain.
  ClientSession(const ClientSessionConfig& config, std::optional<handshake::ClientHandshake> handshake,
                EpochDomain& epochs);
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  void start(TimePoint now, Output& out);
  void on_timer(TimePoint now, Output& out);
  TimePoint next_deadline() const noexcept;
  // Handshake-family and v1 control messages (everything but DATA, KEEPALIVE, CONTROL).
  void on_control(std::span<const std::uint8_t> msg, TimePoint now, Output& out);
  // A DATA-family message: verified and decrypted in place; the frame if it carries one.
  std::optional<std::span<std::uint8_t>> on_data(std::span<std::uint8_t> msg, TimePoint now, Output& out) noexcept;
  // The server may be gone (ICMP unreachable): v1 joins again; v2 tries a handshake early.
  void on_unreachable(TimePoint now, Output& out);
  // The goodbye to send when the client exits (empty when not joined).
  std::vector<std::uint8_t> goodbye();

  // Transmit threads: the keypair to seal DATA with, or nullptr while joining.
  Keypair* tx_keypair() const noexcept { return tx_.load(std::memory_order_acquire); }
  bool joined() const noexcept { return joined_; }
  bool secure() const noexcept { return handshake_.has_value(); }
  std::uint16_t mtu() const noexcept { return config_.mtu; }
  std::uint32_t server_index() const noexcept { return current_ != nullptr ? current_->remote_index : 0; }

  struct Stats {
    std::uint64_t handshakes_sent = 0, joins = 0, rekeys = 0, pings_sent = 0;
    std::uint64_t dropped_stale = 0;     // for no current session (old index)
    std::uint64_t dropped_bad = 0;       // malformed, or failed authentication
    std::uint64_t dropped_replay = 0;
  };
  const Stats& stats() const noexcept { return stats_; }

 private:
  void begin_joining(TimePoint now, Output& out);
  void send_attempt(TimePoint now, Output& out);
  void on_response(std::span<const std::uint8_t> msg, TimePoint now, Output& out);
  void on_welcome(std::span<const std::uint8_t> msg, TimePoint now, Output& out);
  void on_v1_bye(std::span<const std::uint8_t> msg, TimePoint now, Output& out);
  void install(Keypair* kp, TimePoint now, Output& out);
  void send_ping(TimePoint now, Output& out);
  Keypair* take_keypair();
  void retire(Keypair*& kp) noexcept;
  void reclaim() noexcept;
  Keypair* find(std::uint32_t index) const noexcept;
  Duration retry_interval(TimePoint now) const noexcept;

  ClientSessionConfig config_;
  std::optional<handshake::ClientHandshake> handshake_;
  EpochDomain& epochs_;
  std::array<Keypair, 6> pool_;
  std::vector<Keypair*> free_;
  std::vector<std::pair<Keypair*, std::uint64_t>> retired_;
  Keypair* current_ = nullptr;
  Keypair* previous_ = nullptr;
  std::atomic<Keypair*> tx_{nullptr};

  bool joined_ = false;
  bool attempting_ = false;          // a handshake (or v1 join) is under way
  std::uint32_t attempt_index_ = 0;  // our index in the pending attempt
  std::uint64_t token_ = 0;          // v1: from the CHALLENGE
  TimePoint joining_since_{};
  TimePoint next_attempt_{};
  TimePoint next_no_answer_event_{};
  TimePoint last_rx_{};
  TimePoint last_ping_{};
  TimePoint last_now_{};
  std::uint64_t ping_sequence_ = 0;
  Stats stats_;
};

}  // namespace vswitch
