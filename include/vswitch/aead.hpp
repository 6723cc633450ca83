// The transport AEAD of protocol v2: one direction of a session, sealing and opening DATA and
// CONTROL in place. Two suites, chosen by the server inside the authenticated handshake:
// ChaCha20-Poly1305 (always available) and AES-256-GCM (where the CPU has AES-NI and CLMUL).
// Nonce: 32 zero bits then the 64-bit message counter, little-endian for ChaCha20-Poly1305 and
// big-endian for AES-GCM, as Noise specifies for each (sections 12.3 and 12.4).
//
// Two implementations, one wire: libsodium (stateless calls, cheap per call) and OpenSSL's EVP
// (about 250 ns more per call, then 1.3-1.7x faster per byte on this CPU: docs/benchmarks.md).
// Payloads of kEvpMinBytes and more take OpenSSL. An EVP context holds per-message state, so it
// cannot be shared by threads: each key keeps a few contexts, keyed when the session is made, and
// a call takes a free one with a try-lock, falling back to libsodium when all are busy (same
// bytes either way; the golden tests check both).
#pragma once

#include <sodium.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "vswitch/secret.hpp"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace vswitch {

enum class CipherSuite : std::uint8_t {
  chacha20_poly1305 = 1,
  aes256_gcm = 2,
};
// The handshake offers suites as a bit set: bit (1 << suite).
inline constexpr std::uint8_t suite_bit(CipherSuite s) { return static_cast<std::uint8_t>(1u << static_cast<unsigned>(s)); }

std::string_view to_string(CipherSuite suite);
// "chacha20-poly1305" or "aes-256-gcm".
std::optional<CipherSuite> parse_cipher_suite(std::string_view name);
// This CPU runs AES-256-GCM (libsodium's test; needs sodium_init()).
bool aes256gcm_available() noexcept;

inline constexpr std::size_t kAeadTagSize = 16;
inline constexpr std::size_t kAeadKeySize = 32;
// Payload size from which OpenSSL is faster than libsodium here (measured crossover ~900 B).
inline constexpr std::size_t kEvpMinBytes = 1024;

class TransportKey {
 public:
  TransportKey() = default;
  ~TransportKey() { wipe(); }
  TransportKey(const TransportKey&) = delete;
  TransportKey& operator=(const TransportKey&) = delete;

  // False when the suite is AES-GCM and this CPU cannot run it. Allocates the OpenSSL contexts
  // (at a handshake, never on the packet path).
  [[nodiscard]] bool set(CipherSuite suite, std::span<const std::uint8_t, kAeadKeySize> key) noexcept;
  void wipe() noexcept;
  CipherSuite suite() const noexcept { return suite_; }

  // Encrypts `data` in place and writes the 16-byte tag to `tag` (which may follow `data`).
  void seal(std::span<const std::uint8_t> ad, std::uint64_t counter, std::span<std::uint8_t> data,
            std::uint8_t* tag) const noexcept;
  // Verifies and decrypts `data` in place. False (contents unspecified) when the tag is wrong.
  [[nodiscard]] bool open(std::span<const std::uint8_t> ad, std::uint64_t counter, std::span<std::uint8_t> data,
                          const std::uint8_t* tag) const noexcept;

 private:
  static constexpr std::size_t kEvpContexts = 4;
  struct EvpContext {
    std::atomic_flag busy = ATOMIC_FLAG_INIT;
    EVP_CIPHER_CTX* ctx = nullptr;
  };
  EVP_CIPHER_CTX* take_evp(std::size_t& slot) const noexcept;
  void give_evp(std::size_t slot) const noexcept { evp_[slot].busy.clear(std::memory_order_release); }
  bool seal_evp(EVP_CIPHER_CTX* ctx, std::span<const std::uint8_t> ad, const std::uint8_t* nonce,
                std::span<std::uint8_t> data, std::uint8_t* tag) const noexcept;
  bool open_evp(EVP_CIPHER_CTX* ctx, std::span<const std::uint8_t> ad, const std::uint8_t* nonce,
                std::span<std::uint8_t> data, const std::uint8_t* tag) const noexcept;

  CipherSuite suite_ = CipherSuite::chacha20_poly1305;
  Secret<kAeadKeySize> key_;
  alignas(16) crypto_aead_aes256gcm_state gcm_{};
  mutable std::array<EvpContext, kEvpContexts> evp_{};
};

}  // namespace vswitch
