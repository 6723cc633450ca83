// Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b: the handshake of protocol v2 (docs/protocol.md), built
// from libsodium primitives (libsodium 1.0.18 has no HKDF and no BLAKE2s, so HMAC and HKDF over
// BLAKE2b are written here, per the Noise specification, revision 34, sections 4 and 5).
//
// IKpsk2, client = initiator, server = responder, the server's static key known in advance:
//   <- s
//   ...
//   -> e, es, s, ss          (+ encrypted payload)
//   <- e, ee, se, psk        (+ encrypted payload)
// The protocol name (37 bytes) is shorter than HASHLEN (64), so h starts as the name zero-padded,
// not hashed (section 5.2). Keys are the first 32 bytes of each 64-byte HKDF output. With a PSK
// every `e` is also mixed into the key (section 9.2). Verified byte for byte against the
// cacophony test vector (tests/unit/noise_test.cpp).
//
// Every intermediate secret (chaining key, cipher key, DH outputs, ephemeral private key) lives in
// a Secret<> and is wiped when the state object dies; comparisons of secrets are constant time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "vswitch/secret.hpp"

namespace vswitch::noise {

inline constexpr std::size_t kHashSize = 64;  // BLAKE2b
inline constexpr std::size_t kKeySize = 32;
inline constexpr std::size_t kDhSize = 32;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::string_view kProtocolName = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b";

using Hash = std::array<std::uint8_t, kHashSize>;
using PublicKey = std::array<std::uint8_t, kDhSize>;
using Key = Secret<kKeySize>;

// HMAC-BLAKE2b (RFC 2104 with a 128-byte block), full 64-byte output.
void hmac(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data,
          std::span<std::uint8_t, kHashSize> out) noexcept;
// Noise's HKDF: two or three 64-byte outputs from a chaining key and input key material.
void hkdf(std::span<const std::uint8_t, kHashSize> chaining_key, std::span<const std::uint8_t> ikm,
          std::span<std::uint8_t, kHashSize> out1, std::span<std::uint8_t, kHashSize> out2,
          std::span<std::uint8_t> out3 = {}) noexcept;  // out3: kHashSize bytes, or empty for two outputs

// X25519. False when the result is all zero (a low-order or zero public key): such a key must be
// refused, never used.
[[nodiscard]] bool dh(std::span<const std::uint8_t, kDhSize> private_key,
                      std::span<const std::uint8_t, kDhSize> public_key,
                      std::span<std::uint8_t, kDhSize> out) noexcept;

// A fresh X25519 key pair (the ephemeral `e`).
struct KeyPair {
  Secret<kDhSize> private_key;
  PublicKey public_key{};
  static KeyPair generate() noexcept;
  static KeyPair from_private(std::span<const std::uint8_t, kDhSize> private_key) noexcept;
};

// Noise's SymmetricState with ChaChaPoly: ck, h and the CipherState (k, n).
class SymmetricState {
 public:
  SymmetricState() = default;
  // A copy to try a message on: a forged one must not spoil the state for the genuine one.
  SymmetricState fork() const noexcept;
  void initialize(std::string_view protocol_name) noexcept;
  void mix_hash(std::span<const std::uint8_t> data) noexcept;
  void mix_key(std::span<const std::uint8_t> ikm) noexcept;
  void mix_key_and_hash(std::span<const std::uint8_t> ikm) noexcept;
  // out: ciphertext || tag, plaintext.size() + kTagSize bytes (plaintext alone before any key).
  void encrypt_and_hash(std::span<const std::uint8_t> plaintext, std::span<std::uint8_t> out) noexcept;
  // out: ciphertext.size() - kTagSize bytes. False when the tag does not verify.
  [[nodiscard]] bool decrypt_and_hash(std::span<const std::uint8_t> ciphertext, std::span<std::uint8_t> out) noexcept;
  // The two transport keys: initiator->responder first.
  void split(Key& first, Key& second) const noexcept;
  const Hash& handshake_hash() const noexcept { return h_; }
  // Bytes encrypt_and_hash adds at this point (0 before the first key, else the tag).
  std::size_t overhead() const noexcept { return has_key_ ? kTagSize : 0; }

 private:
  Secret<kHashSize> ck_;
  Hash h_{};
  Key k_;
  bool has_key_ = false;
  std::uint64_t n_ = 0;
};

// Message sizes for a payload of n bytes.
constexpr std::size_t message1_size(std::size_t payload) {
  return kDhSize + (kDhSize + kTagSize) + payload + kTagSize;
}
constexpr std::size_t message2_size(std::size_t payload) { return kDhSize + payload + kTagSize; }

// The client's side. One object per handshake attempt.
class Initiator {
 public:
  // `remote_static`: the pinned server key. `psk`: 32 bytes (all zero when none is configured).
  Initiator(std::span<const std::uint8_t, kDhSize> static_private, const PublicKey& remote_static,
            std::span<const std::uint8_t, kKeySize> psk, std::span<const std::uint8_t> prologue) noexcept;
  // -> e, es, s, ss, payload. `out` holds message1_size(payload.size()) bytes. `ephemeral` is for
  // known-answer tests; otherwise a fresh one is generated. False on a low-order server key.
  [[nodiscard]] bool write_message1(std::span<const std::uint8_t> payload, std::span<std::uint8_t> out,
                                    const KeyPair* ephemeral = nullptr) noexcept;
  // <- e, ee, se, psk, payload. `payload_out` holds message.size() - message2_size(0) bytes.
  [[nodiscard]] bool read_message2(std::span<const std::uint8_t> message, std::span<std::uint8_t> payload_out) noexcept;
  // After read_message2: (send, receive) transport keys.
  void split(Key& send, Key& receive) const noexcept { symmetric_.split(send, receive); }
  const Hash& handshake_hash() const noexcept { return symmetric_.handshake_hash(); }

 private:
  SymmetricState symmetric_;
  Secret<kDhSize> s_;
  PublicKey s_public_{};
  PublicKey rs_;
  Key psk_;
  KeyPair e_;
};

// The server's side. One object per received initiation.
class Responder {
 public:
  Responder(std::span<const std::uint8_t, kDhSize> static_private, const PublicKey& static_public,
            std::span<const std::uint8_t> prologue) noexcept;
  // -> e, es, s, ss, payload. On success `remote_static` is the client's key (check it is a
  // member before going on). `payload_out` holds message.size() - message1_size(0) bytes.
  [[nodiscard]] bool read_message1(std::span<const std::uint8_t> message, PublicKey& remote_static,
                                   std::span<std::uint8_t> payload_out) noexcept;
  // <- e, ee, se, psk, payload. `out` holds message2_size(payload.size()) bytes.
  [[nodiscard]] bool write_message2(std::span<const std::uint8_t, kKeySize> psk, std::span<const std::uint8_t> payload,
                                    std::span<std::uint8_t> out, const KeyPair* ephemeral = nullptr) noexcept;
  // After write_message2: (send, receive) transport keys.
  void split(Key& send, Key& receive) const noexcept { symmetric_.split(receive, send); }
  const Hash& handshake_hash() const noexcept { return symmetric_.handshake_hash(); }

 private:
  SymmetricState symmetric_;
  Secret<kDhSize> s_;
  PublicKey re_{};
  PublicKey rs_{};
};

}  // namespace vswitch::noise
