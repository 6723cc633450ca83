#include "vswitch/noise.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace vswitch::noise {
namespace {

constexpr std::size_t kBlockSize = 128;  // BLAKE2b's block, for HMAC

// ChaChaPoly's nonce for Noise: 32 zero bits, then the 64-bit counter little-endian.
void chachapoly_nonce(std::uint64_t n, std::uint8_t out[12]) noexcept {
  std::memset(out, 0, 4);
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));
}

}  // namespace

void hmac(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data,
          std::span<std::uint8_t, kHashSize> out) noexcept {
  Secret<kBlockSize> block;
  if (key.size() > kBlockSize) {
    crypto_generichash(block.data(), kHashSize, key.data(), key.size(), nullptr, 0);
  } else {
    std::copy(key.begin(), key.end(), block.data());
  }
  Secret<kBlockSize> pad;
  Secret<kHashSize> inner;
  crypto_generichash_state state;
  for (std::size_t i = 0; i < kBlockSize; ++i) pad.data()[i] = static_cast<std::uint8_t>(block.data()[i] ^ 0x36);
  crypto_generichash_init(&state, nullptr, 0, kHashSize);
  crypto_generichash_update(&state, pad.data(), kBlockSize);
  crypto_generichash_update(&state, data.data(), data.size());
  crypto_generichash_final(&state, inner.data(), kHashSize);
  for (std::size_t i = 0; i < kBlockSize; ++i) pad.data()[i] = static_cast<std::uint8_t>(block.data()[i] ^ 0x5c);
  crypto_generichash_init(&state, nullptr, 0, kHashSize);
  crypto_generichash_update(&state, pad.data(), kBlockSize);
  crypto_generichash_update(&state, inner.data(), kHashSize);
  crypto_generichash_final(&state, out.data(), kHashSize);
  sodium_memzero(&state, sizeof state);
}

void hkdf(std::span<const std::uint8_t, kHashSize> chaining_key, std::span<const std::uint8_t> ikm,
          std::span<std::uint8_t, kHashSize> out1, std::span<std::uint8_t, kHashSize> out2,
          std::span<std::uint8_t> out3) noexcept {
  Secret<kHashSize> temp;
  hmac(chaining_key, ikm, temp.bytes());
  const std::uint8_t one = 0x01;
  hmac(temp.bytes(), {&one, 1}, out1);
  Secret<kHashSize + 1> chained;
  std::copy(out1.begin(), out1.end(), chained.data());
  chained.data()[kHashSize] = 0x02;
  hmac(temp.bytes(), chained.bytes(), out2);
  if (out3.size() != kHashSize) return;
  std::copy(out2.begin(), out2.end(), chained.data());
  chained.data()[kHashSize] = 0x03;
  hmac(temp.bytes(), chained.bytes(), out3.first<kHashSize>());
}

bool dh(std::span<const std::uint8_t, kDhSize> private_key, std::span<const std::uint8_t, kDhSize> public_key,
        std::span<std::uint8_t, kDhSize> out) noexcept {
  // libsodium returns -1 when the shared point is all zero (small-order input).
  return crypto_scalarmult(out.data(), private_key.data(), public_key.data()) == 0;
}

KeyPair KeyPair::generate() noexcept {
  KeyPair kp;
  randombytes_buf(kp.private_key.data(), kDhSize);
  crypto_scalarmult_base(kp.public_key.data(), kp.private_key.data());
  return kp;
}

KeyPair KeyPair::from_private(std::span<const std::uint8_t, kDhSize> private_key) noexcept {
  KeyPair kp;
  std::copy(private_key.begin(), private_key.end(), kp.private_key.data());
  crypto_scalarmult_base(kp.public_key.data(), kp.private_key.data());
  return kp;
}

SymmetricState SymmetricState::fork() const noexcept {
  SymmetricState s;
  s.ck_ = ck_.copy();
  s.h_ = h_;
  s.k_ = k_.copy();
  s.has_key_ = has_key_;
  s.n_ = n_;
  return s;
}

void SymmetricState::initialize(std::string_view protocol_name) noexcept {
  h_.fill(0);
  if (protocol_name.size() <= kHashSize) {
    std::memcpy(h_.data(), protocol_name.data(), protocol_name.size());
  } else {
    crypto_generichash(h_.data(), kHashSize, reinterpret_cast<const std::uint8_t*>(protocol_name.data()),
                       protocol_name.size(), nullptr, 0);
  }
  std::copy(h_.begin(), h_.end(), ck_.data());
  k_.wipe();
  has_key_ = false;
  n_ = 0;
}

void SymmetricState::mix_hash(std::span<const std::uint8_t> data) noexcept {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, kHashSize);
  crypto_generichash_update(&state, h_.data(), h_.size());
  crypto_generichash_update(&state, data.data(), data.size());
  crypto_generichash_final(&state, h_.data(), kHashSize);
}

void SymmetricState::mix_key(std::span<const std::uint8_t> ikm) noexcept {
  Secret<kHashSize> temp_k;
  hkdf(ck_.bytes(), ikm, ck_.bytes(), temp_k.bytes());
  std::copy_n(temp_k.data(), kKeySize, k_.data());
  has_key_ = true;
  n_ = 0;
}

void SymmetricState::mix_key_and_hash(std::span<const std::uint8_t> ikm) noexcept {
  Secret<kHashSize> temp_h;
  Secret<kHashSize> temp_k;
  hkdf(ck_.bytes(), ikm, ck_.bytes(), temp_h.bytes(), temp_k.bytes());
  mix_hash(temp_h.bytes());
  std::copy_n(temp_k.data(), kKeySize, k_.data());
  has_key_ = true;
  n_ = 0;
}

void SymmetricState::encrypt_and_hash(std::span<const std::uint8_t> plaintext, std::span<std::uint8_t> out) noexcept {
  if (!has_key_) {
    std::copy(plaintext.begin(), plaintext.end(), out.begin());
    mix_hash(out.first(plaintext.size()));
    return;
  }
  std::uint8_t nonce[12];
  chachapoly_nonce(n_++, nonce);
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(out.data(), out.data() + plaintext.size(), nullptr,
                                                     plaintext.data(), plaintext.size(), h_.data(), h_.size(),
                                                     nullptr, nonce, k_.data());
  mix_hash(out.first(plaintext.size() + kTagSize));
}

bool SymmetricState::decrypt_and_hash(std::span<const std::uint8_t> ciphertext, std::span<std::uint8_t> out) noexcept {
  if (!has_key_) {
    std::copy(ciphertext.begin(), ciphertext.end(), out.begin());
    mix_hash(ciphertext);
    return true;
  }
  if (ciphertext.size() < kTagSize) return false;
  const std::size_t n = ciphertext.size() - kTagSize;
  std::uint8_t nonce[12];
  chachapoly_nonce(n_, nonce);
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(out.data(), nullptr, ciphertext.data(), n,
                                                         ciphertext.data() + n, h_.data(), h_.size(), nonce,
                                                         k_.data()) != 0)
    return false;
  ++n_;
  mix_hash(ciphertext);
  return true;
}

void SymmetricState::split(Key& first, Key& second) const noexcept {
  Secret<kHashSize> t1;
  Secret<kHashSize> t2;
  hkdf(ck_.bytes(), {}, t1.bytes(), t2.bytes());
  std::copy_n(t1.data(), kKeySize, first.data());
  std::copy_n(t2.data(), kKeySize, second.data());
}

Initiator::Initiator(std::span<const std::uint8_t, kDhSize> static_private, const PublicKey& remote_static,
                     std::span<const std::uint8_t, kKeySize> psk, std::span<const std::uint8_t> prologue) noexcept
    : s_(static_private), rs_(remote_static), psk_(psk) {
  crypto_scalarmult_base(s_public_.data(), s_.data());
  symmetric_.initialize(kProtocolName);
  symmetric_.mix_hash(prologue);
  symmetric_.mix_hash(rs_);  // pre-message: <- s
}

bool Initiator::write_message1(std::span<const std::uint8_t> payload, std::span<std::uint8_t> out,
                               const KeyPair* ephemeral) noexcept {
  e_ = ephemeral != nullptr ? KeyPair::from_private(ephemeral->private_key.bytes()) : KeyPair::generate();
  Secret<kDhSize> shared;
  // e
  std::copy(e_.public_key.begin(), e_.public_key.end(), out.begin());
  symmetric_.mix_hash(e_.public_key);
  symmetric_.mix_key(e_.public_key);  // PSK mode: e is mixed into the key too
  // es
  if (!dh(e_.private_key.bytes(), rs_, shared.bytes())) return false;
  symmetric_.mix_key(shared.bytes());
  // s
  symmetric_.encrypt_and_hash(s_public_, out.subspan(kDhSize, kDhSize + kTagSize));
  // ss
  if (!dh(s_.bytes(), rs_, shared.bytes())) return false;
  symmetric_.mix_key(shared.bytes());
  symmetric_.encrypt_and_hash(payload, out.subspan(message1_size(0) - kTagSize, payload.size() + kTagSize));
  return true;
}

bool Initiator::read_message2(std::span<const std::uint8_t> message, std::span<std::uint8_t> payload_out) noexcept {
  if (message.size() < message2_size(0)) return false;
  // On a fork: the state changes only if the message is genuine.
  SymmetricState state = symmetric_.fork();
  PublicKey re;
  std::copy_n(message.begin(), kDhSize, re.begin());
  Secret<kDhSize> shared;
  // e
  state.mix_hash(re);
  state.mix_key(re);
  // ee
  if (!dh(e_.private_key.bytes(), re, shared.bytes())) return false;
  state.mix_key(shared.bytes());
  // se (initiator: DH(s, re))
  if (!dh(s_.bytes(), re, shared.bytes())) return false;
  state.mix_key(shared.bytes());
  // psk
  state.mix_key_and_hash(psk_.bytes());
  if (!state.decrypt_and_hash(message.subspan(kDhSize), payload_out)) return false;
  symmetric_ = std::move(state);
  return true;
}

Responder::Responder(std::span<const std::uint8_t, kDhSize> static_private, const PublicKey& static_public,
                     std::span<const std::uint8_t> prologue) noexcept
    : s_(static_private) {
  symmetric_.initialize(kProtocolName);
  symmetric_.mix_hash(prologue);
  symmetric_.mix_hash(static_public);  // pre-message: <- s
}

bool Responder::read_message1(std::span<const std::uint8_t> message, PublicKey& remote_static,
                              std::span<std::uint8_t> payload_out) noexcept {
  if (message.size() < message1_size(0)) return false;
  Secret<kDhSize> shared;
  // e
  std::copy_n(message.begin(), kDhSize, re_.begin());
  symmetric_.mix_hash(re_);
  symmetric_.mix_key(re_);
  // es (responder: DH(s, re))
  if (!dh(s_.bytes(), re_, shared.bytes())) return false;
  symmetric_.mix_key(shared.bytes());
  // s
  if (!symmetric_.decrypt_and_hash(message.subspan(kDhSize, kDhSize + kTagSize), rs_)) return false;
  // ss
  if (!dh(s_.bytes(), rs_, shared.bytes())) return false;
  symmetric_.mix_key(shared.bytes());
  if (!symmetric_.decrypt_and_hash(message.subspan(message1_size(0) - kTagSize), payload_out)) return false;
  remote_static = rs_;
  return true;
}

bool Responder::write_message2(std::span<const std::uint8_t, kKeySize> psk, std::span<const std::uint8_t> payload,
                               std::span<std::uint8_t> out, const KeyPair* ephemeral) noexcept {
  const KeyPair e = ephemeral != nullptr ? KeyPair::from_private(ephemeral->private_key.bytes()) : KeyPair::generate();
  Secret<kDhSize> shared;
  // e
  std::copy(e.public_key.begin(), e.public_key.end(), out.begin());
  symmetric_.mix_hash(e.public_key);
  symmetric_.mix_key(e.public_key);
  // ee
  if (!dh(e.private_key.bytes(), re_, shared.bytes())) return false;
  symmetric_.mix_key(shared.bytes());
  // se (responder: DH(e, rs))
  if (!dh(e.private_key.bytes(), rs_, shared.bytes())) return false;
  symmetric_.mix_key(shared.bytes());
  // psk
  symmetric_.mix_key_and_hash(psk);
  symmetric_.encrypt_and_hash(payload, out.subspan(kDhSize, payload.size() + kTagSize));
  return true;
}

}  // namespace vswitch::noise
