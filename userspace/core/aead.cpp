#include "vswitch/aead.hpp"

#include <cstring>

namespace vswitch {
namespace {

void nonce_le(std::uint64_t counter, std::uint8_t out[12]) noexcept {
  std::memset(out, 0, 4);
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<std::uint8_t>(counter >> (8 * i));
}
void nonce_be(std::uint64_t counter, std::uint8_t out[12]) noexcept {
  std::memset(out, 0, 4);
  for (int i = 0; i < 8; ++i) out[11 - i] = static_cast<std::uint8_t>(counter >> (8 * i));
}

}  // namespace

std::string_view to_string(CipherSuite suite) {
  switch (suite) {
    case CipherSuite::chacha20_poly1305: return "chacha20-poly1305";
    case CipherSuite::aes256_gcm: return "aes-256-gcm";
  }
  return "unknown";
}

std::optional<CipherSuite> parse_cipher_suite(std::string_view name) {
  if (name == "chacha20-poly1305") return CipherSuite::chacha20_poly1305;
  if (name == "aes-256-gcm") return CipherSuite::aes256_gcm;
  return std::nullopt;
}

// The CPU features are probed by sodium_init(); idempotent and thread-safe.
bool aes256gcm_available() noexcept { return sodium_init() >= 0 && crypto_aead_aes256gcm_is_available() == 1; }

bool TransportKey::set(CipherSuite suite, std::span<const std::uint8_t, kAeadKeySize> key) noexcept {
  wipe();
  suite_ = suite;
  if (suite == CipherSuite::aes256_gcm) {
    if (!aes256gcm_available()) return false;
    crypto_aead_aes256gcm_beforenm(&gcm_, key.data());
    return true;
  }
  std::memcpy(key_.data(), key.data(), kAeadKeySize);
  return true;
}

void TransportKey::wipe() noexcept {
  key_.wipe();
  sodium_memzero(&gcm_, sizeof gcm_);
}

void TransportKey::seal(std::span<const std::uint8_t> ad, std::uint64_t counter, std::span<std::uint8_t> data,
                        std::uint8_t* tag) const noexcept {
  std::uint8_t nonce[12];
  if (suite_ == CipherSuite::aes256_gcm) {
    nonce_be(counter, nonce);
    crypto_aead_aes256gcm_encrypt_detached_afternm(data.data(), tag, nullptr, data.data(), data.size(), ad.data(),
                                                   ad.size(), nullptr, nonce, &gcm_);
  } else {
    nonce_le(counter, nonce);
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(data.data(), tag, nullptr, data.data(), data.size(),
                                                       ad.data(), ad.size(), nullptr, nonce, key_.data());
  }
}

bool TransportKey::open(std::span<const std::uint8_t> ad, std::uint64_t counter, std::span<std::uint8_t> data,
                        const std::uint8_t* tag) const noexcept {
  std::uint8_t nonce[12];
  if (suite_ == CipherSuite::aes256_gcm) {
    nonce_be(counter, nonce);
    return crypto_aead_aes256gcm_decrypt_detached_afternm(data.data(), nullptr, data.data(), data.size(), tag,
                                                          ad.data(), ad.size(), nonce, &gcm_) == 0;
  }
  nonce_le(counter, nonce);
  return crypto_aead_chacha20poly1305_ietf_decrypt_detached(data.data(), nullptr, data.data(), data.size(), tag,
                                                            ad.data(), ad.size(), nonce, key_.data()) == 0;
}

}  // namespace vswitch
