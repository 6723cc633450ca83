#include "vswitch/aead.hpp"

#include <openssl/evp.h>

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
  } else {
    std::memcpy(key_.data(), key.data(), kAeadKeySize);
  }
  // OpenSSL's contexts, keyed now; a call sets only its nonce and direction. Without them
  // (allocation failed, OpenSSL lacks the cipher) every call takes libsodium.
  const EVP_CIPHER* cipher = suite == CipherSuite::aes256_gcm ? EVP_aes_256_gcm() : EVP_chacha20_poly1305();
  for (EvpContext& e : evp_) {
    e.ctx = EVP_CIPHER_CTX_new();
    if (e.ctx == nullptr || cipher == nullptr ||
        EVP_CipherInit_ex(e.ctx, cipher, nullptr, key.data(), nullptr, 1) != 1) {
      EVP_CIPHER_CTX_free(e.ctx);
      e.ctx = nullptr;
    }
  }
  return true;
}

void TransportKey::wipe() noexcept {
  key_.wipe();
  sodium_memzero(&gcm_, sizeof gcm_);
  for (EvpContext& e : evp_) {
    EVP_CIPHER_CTX_free(e.ctx);  // cleanses the key schedule
    e.ctx = nullptr;
    e.busy.clear();
  }
}

EVP_CIPHER_CTX* TransportKey::take_evp(std::size_t& slot) const noexcept {
  for (slot = 0; slot < kEvpContexts; ++slot) {
    if (evp_[slot].ctx == nullptr) return nullptr;
    if (!evp_[slot].busy.test_and_set(std::memory_order_acquire)) return evp_[slot].ctx;
  }
  return nullptr;
}

bool TransportKey::seal_evp(EVP_CIPHER_CTX* ctx, std::span<const std::uint8_t> ad, const std::uint8_t* nonce,
                            std::span<std::uint8_t> data, std::uint8_t* tag) const noexcept {
  int len = 0;
  return EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce, 1) == 1 &&
         EVP_CipherUpdate(ctx, nullptr, &len, ad.data(), static_cast<int>(ad.size())) == 1 &&
         EVP_CipherUpdate(ctx, data.data(), &len, data.data(), static_cast<int>(data.size())) == 1 &&
         EVP_CipherFinal_ex(ctx, data.data() + len, &len) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAeadTagSize), tag) == 1;
}

bool TransportKey::open_evp(EVP_CIPHER_CTX* ctx, std::span<const std::uint8_t> ad, const std::uint8_t* nonce,
                            std::span<std::uint8_t> data, const std::uint8_t* tag) const noexcept {
  int len = 0;
  return EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce, 0) == 1 &&
         EVP_CipherUpdate(ctx, nullptr, &len, ad.data(), static_cast<int>(ad.size())) == 1 &&
         EVP_CipherUpdate(ctx, data.data(), &len, data.data(), static_cast<int>(data.size())) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAeadTagSize),
                             const_cast<std::uint8_t*>(tag)) == 1 &&
         EVP_CipherFinal_ex(ctx, data.data() + len, &len) == 1;  // 1 only when the tag verified
}

void TransportKey::seal(std::span<const std::uint8_t> ad, std::uint64_t counter, std::span<std::uint8_t> data,
                        std::uint8_t* tag) const noexcept {
  std::uint8_t nonce[12];
  if (data.size() >= kEvpMinBytes) {
    std::size_t slot = 0;
    if (EVP_CIPHER_CTX* ctx = take_evp(slot)) {
      if (suite_ == CipherSuite::aes256_gcm) nonce_be(counter, nonce);
      else nonce_le(counter, nonce);
      const bool ok = seal_evp(ctx, ad, nonce, data, tag);
      give_evp(slot);
      // Never expected. The plaintext may be half encrypted by then, so it must not be sealed
      // again: a zero tag makes the receiver refuse the message (counted there as bad_tag).
      if (!ok) std::memset(tag, 0, kAeadTagSize);
      return;
    }
  }
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
  if (data.size() >= kEvpMinBytes) {
    std::size_t slot = 0;
    if (EVP_CIPHER_CTX* ctx = take_evp(slot)) {
      if (suite_ == CipherSuite::aes256_gcm) nonce_be(counter, nonce);
      else nonce_le(counter, nonce);
      const bool ok = open_evp(ctx, ad, nonce, data, tag);
      give_evp(slot);
      return ok;  // decrypted in place even when the tag is wrong: the caller drops the message
    }
  }
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
