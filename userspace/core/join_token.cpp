#include "vswitch/join_token.hpp"

#include <sodium.h>

#include <cstring>

#include "vswitch/byte_order.hpp"

namespace vswitch {

void JoinTokens::rotate(TimePoint now) noexcept {
  if (initialised_ && now - born_ < kSecretLifetime) return;
  previous_ = std::move(current_);
  randombytes_buf(current_.data(), current_.size());
  if (!initialised_) randombytes_buf(previous_.data(), previous_.size());
  born_ = now;
  initialised_ = true;
}

std::uint64_t JoinTokens::token(const Secret<32>& secret, const Endpoint& from, const protocol::Hello& hello) const noexcept {
  std::uint8_t in[16 + 2 + 4 + 8 + 2] = {};
  std::size_t n = 0;
  if (from.family() == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(from.sockaddr_ptr());
    std::memcpy(in, &v4->sin_addr, 4);
    n = 4;
  } else {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(from.sockaddr_ptr());
    std::memcpy(in, &v6->sin6_addr, 16);
    n = 16;
  }
  store_be16(std::span(in + n, 2), from.port());
  store_be32(std::span(in + n + 2, 4), hello.sender_index);
  store_be64(std::span(in + n + 6, 8), hello.network_id);
  store_be16(std::span(in + n + 14, 2), hello.mtu);
  std::uint8_t out[8];
  crypto_generichash(out, sizeof out, in, n + 16, secret.data(), secret.size());
  std::uint64_t t = load_be64(out);
  return t == 0 ? 1 : t;  // 0 means "no token" on the wire
}

std::uint64_t JoinTokens::make(const Endpoint& from, const protocol::Hello& hello, TimePoint now) noexcept {
  rotate(now);
  return token(current_, from, hello);
}

bool JoinTokens::valid(const Endpoint& from, const protocol::Hello& hello, TimePoint now) noexcept {
  rotate(now);
  if (hello.token == 0) return false;
  // Both compared in full (no early exit between them); the token is not secret from its
  // legitimate receiver, but comparing in constant time costs nothing here.
  std::uint8_t got[8], a[8], b[8];
  store_be64(got, hello.token);
  store_be64(a, token(current_, from, hello));
  store_be64(b, token(previous_, from, hello));
  const bool ok_a = sodium_memcmp(got, a, 8) == 0;
  const bool ok_b = sodium_memcmp(got, b, 8) == 0;
  return ok_a || ok_b;
}

}  // namespace vswitch
