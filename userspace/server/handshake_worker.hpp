// The server's control thread: every handshake message (v2 initiations, v1 HELLOs and BYEs) and
// every answer to an unauthenticated sender is handled here, fed by a bounded queue, so that
// neither a packet thread nor the switch lock ever waits for a Diffie-Hellman or a MAC check.
//
// Order for a v2 initiation (docs/architecture.md): mac1 (else dropped before any DH) -> under
// load (512+ queued, sticky for a second): a valid mac2 or a cookie reply, then a per-source
// budget -> decrypt (first DH) -> member of that network? -> timestamp newer than the member's
// last -> at most 50 a second per member -> lock: allocate the session slot -> unlock -> the
// response's DHs -> lock: install (port, keypair as `next`) -> unlock -> send the response.
// Nothing is stored for a sender before its initiation decrypted to a member's key.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "shared_switch.hpp"
#include "vswitch/handshake.hpp"
#include "vswitch/join_token.hpp"
#include "vswitch/log_rate_limit.hpp"
#include "vswitch/members.hpp"
#include "vswitch/source_rate_limiter.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch {

struct HandshakeConfig {
  std::uint16_t mtu = 1500;  // the largest MTU a port may have
  // Which suites the server accepts: chacha20-poly1305 always; aes-256-gcm when allowed and the
  // CPU runs it. `prefer_gcm`: pick it whenever the client offers it.
  bool allow_gcm = true;
  bool require_gcm = false;
  std::size_t queue_capacity = 4096;
  std::size_t under_load_depth = 512;
};

class HandshakeWorker {
 public:
  // Secure: with the server's private key and members. Insecure (v1): `key` empty.
  HandshakeWorker(SharedSwitch& sw, const HandshakeConfig& config, std::optional<handshake::ServerHandshake> key,
                  std::shared_ptr<const MemberDirectory> members);
  ~HandshakeWorker();
  HandshakeWorker(const HandshakeWorker&) = delete;
  HandshakeWorker& operator=(const HandshakeWorker&) = delete;

  // The socket replies leave through (the server's UDP socket); before start().
  void set_reply_socket(int fd) noexcept { reply_fd_ = fd; }
  void start();
  void stop() noexcept;

  // Any thread: queue a handshake-family message from `from`. False (counted) when full.
  bool submit(const Endpoint& from, std::span<const std::uint8_t> msg) noexcept;
  // A reload: sessions of keys no longer listed go (the caller removes their ports).
  void set_members(std::shared_ptr<const MemberDirectory> members);
  std::shared_ptr<const MemberDirectory> members() const;
  std::size_t depth() const noexcept;
  bool secure() const noexcept { return key_.has_value(); }

 private:
  struct Item {
    Endpoint from;
    std::uint16_t size = 0;
    std::array<std::uint8_t, protocol::v2::initiation::kSize> bytes{};
  };
  struct MemberState {
    handshake::Tai64n last_timestamp{};
    TimePoint last_initiation{};
  };
  struct KeyHash {
    std::size_t operator()(const noise::PublicKey& k) const noexcept;
  };

  void run();
  void handle(const Item& item, bool under_load, TimePoint now);
  void on_initiation(const Item& item, bool under_load, TimePoint now);
  void on_hello(const Item& item, TimePoint now);
  void on_v1_bye(const Item& item, TimePoint now);
  void on_unknown_session(const Item& item, TimePoint now);
  void reply_version_mismatch(const Item& item, protocol::ByeReason reason, std::uint32_t index, TimePoint now);
  void refuse(HandshakeRefusal reason, const Endpoint& from, const char* detail);
  void send(const Endpoint& to, std::span<const std::uint8_t> msg) noexcept;
  CipherSuite choose_suite(std::uint8_t offered, bool& ok) const noexcept;

  SharedSwitch& sw_;
  HandshakeConfig config_;
  std::optional<handshake::ServerHandshake> key_;
  JoinTokens tokens_;
  SourceRateLimiter limiter_;
  std::unordered_map<noise::PublicKey, MemberState, KeyHash> member_state_;
  TimePoint last_under_load_{};
  // Log budgets: a flood of refusals or joins costs a few lines a second, with counts.
  std::array<LogRateLimit, kHandshakeRefusalCount> refusal_log_ = make_refusal_budgets();
  LogRateLimit version_log_{1, 5};
  LogRateLimit join_log_{20, 200};
  static std::array<LogRateLimit, kHandshakeRefusalCount> make_refusal_budgets();
  int reply_fd_ = -1;

  mutable std::mutex members_mutex_;
  std::shared_ptr<const MemberDirectory> members_;

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::vector<Item> ring_;
  std::size_t head_ = 0, count_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace vswitch
