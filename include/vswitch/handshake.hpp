// The v2 handshake as messages: Noise IKpsk2 (noise.hpp) in WireGuard's framing, with mac1/mac2
// and cookies against floods. Pure: no sockets, the time is a parameter.
//
//   client                                           server
//   INITIATION  sender index, e, {s}, {timestamp, network, suites, mtu}, mac1, mac2  ->
//               <-  RESPONSE  sender index, receiver index, e, {suite, mtu}, mac1, mac2
//   (under load, instead:) <-  COOKIE REPLY  receiver index, nonce, {cookie}
//
// mac1 = BLAKE2b-128 keyed with BLAKE2b-256("mac1----" || receiver's public key), over the
// message up to mac1. Anyone who knows the server's public key can compute it, so it only
// makes the server drop garbage before any Diffie-Hellman. Under load the server also wants
// mac2 = BLAKE2b-128 keyed with a cookie, over the message up to mac2; the cookie is a MAC of
// the sender's address under a secret that changes every two minutes, sent back encrypted
// (XChaCha20-Poly1305 under BLAKE2b-256("cookie--" || server key), mac1 as associated data), so
// only a sender that receives at its address can produce mac2 (WireGuard's cookie.c design).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

#include "vswitch/aead.hpp"
#include "vswitch/endpoint.hpp"
#include "vswitch/noise.hpp"
#include "vswitch/protocol_v2.hpp"
#include "vswitch/secret.hpp"
#include "vswitch/time.hpp"

namespace vswitch::handshake {

inline constexpr std::string_view kPrologue = "vswitch protocol 2";
// Cookies are accepted this long after they were made (the server's secret lives 120 s).
inline constexpr auto kCookieSecretLifetime = std::chrono::seconds(120);
inline constexpr auto kCookieUsableFor = std::chrono::seconds(118);

using Tai64n = std::array<std::uint8_t, protocol::v2::kTimestampSize>;
// TAI64N of a wall-clock time, nanoseconds rounded down to 2^24 (as WireGuard does: the
// timestamp only orders initiations and should not reveal the clock finely).
Tai64n tai64n(std::chrono::system_clock::time_point t) noexcept;

using Mac = std::array<std::uint8_t, protocol::v2::kMacSize>;

// The two keys derived from a receiver's public key.
struct MacKeys {
  std::array<std::uint8_t, 32> mac1{};
  std::array<std::uint8_t, 32> cookie{};
  explicit MacKeys(const noise::PublicKey& receiver_public) noexcept;
};

// The transport keys of a completed handshake.
struct SessionKeys {
  noise::Key send;
  noise::Key receive;
  CipherSuite suite = CipherSuite::chacha20_poly1305;
  std::uint32_t local_index = 0;   // ours: the peer's DATA carries it
  std::uint32_t remote_index = 0;  // theirs: our DATA carries it
  std::uint16_t mtu = 0;
};

// The client's side: one object for the life of the client (it keeps the cookie), one attempt
// at a time (a new initiation forgets the previous one).
class ClientHandshake {
 public:
  ClientHandshake(std::span<const std::uint8_t, 32> static_private, const noise::PublicKey& server_public,
                  std::span<const std::uint8_t, 32> psk) noexcept;

  // Writes an INITIATION for a new attempt. `ephemeral` is for known-answer tests only.
  void create_initiation(std::uint32_t sender_index, const protocol::v2::InitiationPayload& payload, TimePoint now,
                         std::span<std::uint8_t, protocol::v2::initiation::kSize> out,
                         const noise::KeyPair* ephemeral = nullptr) noexcept;

  enum class Refusal { none, not_pending, wrong_index, bad_mac1, bad_handshake, bad_payload };
  // A RESPONSE to the pending attempt: its keys (the attempt is then over), or why not.
  std::optional<SessionKeys> consume_response(std::span<const std::uint8_t> msg, Refusal& why) noexcept;
  // A COOKIE REPLY to the pending attempt: the cookie is kept for the next initiations.
  bool consume_cookie_reply(std::span<const std::uint8_t> msg, TimePoint now) noexcept;

  bool pending() const noexcept { return pending_.has_value(); }
  std::uint32_t pending_index() const noexcept { return sender_index_; }
  void abandon() noexcept { pending_.reset(); }
  const noise::PublicKey& public_key() const noexcept { return public_; }

 private:
  LockedSecret<32> private_;
  noise::PublicKey public_{};
  noise::PublicKey server_;
  noise::Key psk_;
  MacKeys server_macs_;  // mac1 of our initiations, and the cookie reply's key
  MacKeys own_macs_;     // mac1 of the server's responses (keyed with our key)
  std::optional<noise::Initiator> pending_;
  std::uint32_t sender_index_ = 0;
  Mac last_mac1_{};
  Secret<protocol::v2::kCookieSize> cookie_;
  TimePoint cookie_received_{};
  bool has_cookie_ = false;
};

// The server's side: its static key, the mac keys derived from it, and the cookie secret.
class ServerHandshake {
 public:
  ServerHandshake(std::span<const std::uint8_t, 32> static_private) noexcept;

  enum class MacCheck { bad_mac1, mac1_only, mac1_and_mac2 };
  // mac1 always; mac2 against the cookie of `source` (which rotates with `now`).
  MacCheck check_macs(std::span<const std::uint8_t, protocol::v2::initiation::kSize> msg, const Endpoint& source,
                      TimePoint now) noexcept;
  // The COOKIE REPLY for an initiation whose mac1 was valid. `nonce`: for known-answer tests
  // only (otherwise random).
  void create_cookie_reply(std::span<const std::uint8_t, protocol::v2::initiation::kSize> msg, const Endpoint& source,
                           TimePoint now, std::span<std::uint8_t, protocol::v2::cookie_reply::kSize> out,
                           const std::uint8_t* nonce = nullptr) noexcept;
  // Known-answer tests: a fixed cookie secret, born at `now`.
  void set_cookie_secret_for_test(std::span<const std::uint8_t, 32> secret, TimePoint now) noexcept;

  struct Initiation {
    noise::Responder noise;
    noise::PublicKey client{};
    protocol::v2::InitiationPayload payload;
    std::uint32_t sender_index = 0;
  };
  // Decrypts an initiation (after check_macs): who sent it and what it asks for. nullopt when
  // it does not decrypt (wrong server key pinned, forged) or its payload is malformed.
  std::optional<Initiation> consume_initiation(std::span<const std::uint8_t, protocol::v2::initiation::kSize> msg) noexcept;
  // Writes the RESPONSE and returns the session's keys. False only on a low-order ephemeral.
  bool create_response(Initiation& initiation, std::uint32_t local_index, const protocol::v2::ResponsePayload& payload,
                       std::span<const std::uint8_t, 32> psk, std::span<std::uint8_t, protocol::v2::response::kSize> out,
                       SessionKeys& keys, const noise::KeyPair* ephemeral = nullptr) noexcept;

  const noise::PublicKey& public_key() const noexcept { return public_; }

 private:
  void cookie_for(const Endpoint& source, TimePoint now, std::span<std::uint8_t, protocol::v2::kCookieSize> out) noexcept;

  LockedSecret<32> private_;
  noise::PublicKey public_{};
  MacKeys macs_;
  Secret<32> cookie_secret_;
  TimePoint cookie_secret_born_{};
  bool cookie_secret_set_ = false;
};

}  // namespace vswitch::handshake
