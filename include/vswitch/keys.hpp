// Curve25519 identities: the static key pair of a server or client, and the text form they
// take in key files, members files and on the command line.
//
// The format is WireGuard's, on purpose, so that `wg genkey`, `wg pubkey` and our vswitchctl
// produce and accept the same files: a key is 32 bytes written as 44 characters of standard,
// padded base64. Only the canonical encoding is accepted (the two unused bits before the '='
// must be zero), so every key has exactly one spelling and a members file can be compared or
// deduplicated as text.
//
// A private key is kept as given; X25519 clamps the scalar each time it is used, as WireGuard
// does, so a key from `wg genpsk` still maps to the same public key as under `wg pubkey`. Keys
// we generate are clamped before they are written, like wg genkey's.
//
// Pure code: no file I/O (see key_file.hpp). Parsing stops at the first reason to refuse;
// callers that need to say why use the Result-returning loaders in key_file.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vswitch/secret.hpp"

namespace vswitch {

inline constexpr std::size_t kKeySize = 32, kKeyBase64Size = 44;

using PublicKey = std::array<std::uint8_t, kKeySize>;

class PrivateKey {
 public:
  // 32 random bytes, clamped for X25519. Throws std::bad_alloc when no locked memory is left.
  static PrivateKey generate();
  // Refuses the all-zero key, which WireGuard reads as "no key".
  static std::optional<PrivateKey> from_bytes(std::span<const std::uint8_t, kKeySize> bytes);

  PrivateKey(PrivateKey&&) noexcept = default;
  PrivateKey& operator=(PrivateKey&&) noexcept = default;
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;

  std::span<const std::uint8_t, kKeySize> bytes() const noexcept { return secret_.bytes(); }
  PublicKey public_key() const;

 private:
  friend std::optional<PrivateKey> private_key_from_base64(std::string_view text);
  PrivateKey();
  LockedSecret<kKeySize> secret_;
};

// Exactly kKeyBase64Size characters. A private key's text is as secret as the key: the caller
// wipes the string (sodium_memzero(s.data(), s.size())) when done with it.
std::string key_to_base64(std::span<const std::uint8_t, kKeySize> key);

// Exactly kKeyBase64Size characters of canonical base64, nothing around them (the caller trims
// a trailing newline). Weak public keys are not refused here: see is_weak_public_key.
std::optional<PublicKey> public_key_from_base64(std::string_view text);
std::optional<PrivateKey> private_key_from_base64(std::string_view text);

// True for the all-zero key and every other point of small order (and their non-canonical
// spellings): a Diffie-Hellman with such a peer yields a value the peer knows without any
// private key, so no session may be built on it.
bool is_weak_public_key(const PublicKey& key) noexcept;

}  // namespace vswitch
