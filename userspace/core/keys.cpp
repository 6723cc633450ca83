// Key generation, base64 and the weak-key test; the format is explained in keys.hpp.
#include "vswitch/keys.hpp"

#include <sodium.h>

#include <cstdlib>

namespace vswitch {
namespace {

// sodium_malloc aborts unless sodium_init ran first; library users may not have called it.
void ensure_sodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) std::abort();  // no entropy source: nothing here can work safely
}

// 1 when lo <= c <= hi. No branch on c: key text is secret too.
unsigned in_range(unsigned c, unsigned lo, unsigned hi) noexcept { return (((c - lo) | (hi - c)) >> 31) ^ 1u; }

// 43 characters of the standard alphabet, then '='. libsodium 1.0.18 alone is not enough: it
// decodes some bytes >= 0x80 as if they were '/'.
bool is_key_alphabet(std::string_view text) noexcept {
  unsigned ok = text.back() == '=' ? 1u : 0u;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    const unsigned c = static_cast<unsigned char>(text[i]);
    ok &= in_range(c, 'A', 'Z') | in_range(c, 'a', 'z') | in_range(c, '0', '9') | in_range(c, '+', '+') |
          in_range(c, '/', '/');
  }
  return ok == 1;
}

// Decodes exactly one canonical 44-character key into `out`. libsodium refuses non-zero unused
// bits before the padding, as wg does.
bool decode_key(std::string_view text, std::span<std::uint8_t, kKeySize> out) noexcept {
  if (text.size() != kKeyBase64Size || !is_key_alphabet(text)) return false;
  std::size_t len = 0;
  const char* end = nullptr;
  const int rc = sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len,
                                   &end, sodium_base64_VARIANT_ORIGINAL);
  return rc == 0 && len == kKeySize && end == text.data() + text.size();
}

}  // namespace

PrivateKey::PrivateKey() : secret_((ensure_sodium(), LockedSecret<kKeySize>())) {}

PrivateKey PrivateKey::generate() {
  PrivateKey key;
  auto b = key.secret_.bytes();
  randombytes_buf(b.data(), b.size());
  // X25519 clamping: a multiple of the cofactor, with the top bit fixed (RFC 7748 §5).
  b[0] &= 248;
  b[31] &= 127;
  b[31] |= 64;
  return key;
}

std::optional<PrivateKey> PrivateKey::from_bytes(std::span<const std::uint8_t, kKeySize> bytes) {
  if (sodium_is_zero(bytes.data(), bytes.size()) == 1) return std::nullopt;
  PrivateKey key;
  auto b = key.secret_.bytes();
  for (std::size_t i = 0; i < kKeySize; ++i) b[i] = bytes[i];
  return key;
}

PublicKey PrivateKey::public_key() const {
  PublicKey pub{};
  // Cannot fail: the clamped scalar is never a multiple of the base point's order.
  crypto_scalarmult_base(pub.data(), secret_.bytes().data());
  return pub;
}

std::string key_to_base64(std::span<const std::uint8_t, kKeySize> key) {
  // One allocation, written in place: no stray copy of a private key's text is left behind.
  std::string text(kKeyBase64Size + 1, '\0');  // + the NUL sodium_bin2base64 writes
  sodium_bin2base64(text.data(), text.size(), key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  text.resize(kKeyBase64Size);
  return text;
}

std::optional<PublicKey> public_key_from_base64(std::string_view text) {
  PublicKey key{};
  if (!decode_key(text, key)) return std::nullopt;
  return key;
}

std::optional<PrivateKey> private_key_from_base64(std::string_view text) {
  // Decoded straight into locked memory, so the key never sits on the stack.
  PrivateKey key;
  if (!decode_key(text, key.secret_.bytes())) return std::nullopt;
  if (sodium_is_zero(key.bytes().data(), kKeySize) == 1) return std::nullopt;
  return key;
}

bool is_weak_public_key(const PublicKey& key) noexcept {
  // X25519 clamps any scalar to a multiple of the cofactor 8 below 2^255. Such a multiple
  // times a point is zero exactly when the point's order divides 8: it is never a multiple of
  // the large prime orders of the curve's and the twist's main subgroups. libsodium reports
  // the zero result as -1, so one multiplication by a fixed scalar sorts every input,
  // non-canonical spellings included (about 50 us; setup code only).
  static constexpr std::uint8_t kAnyScalar[kKeySize] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::uint8_t product[kKeySize];
  return crypto_scalarmult(product, kAnyScalar, key.data()) != 0;
}

}  // namespace vswitch
