#include "vswitch/handshake.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace vswitch::handshake {
namespace v2 = protocol::v2;
namespace {

constexpr std::uint32_t kDefault = 0;

void blake2b(std::span<std::uint8_t> out, std::span<const std::uint8_t> key, std::span<const std::uint8_t> a,
             std::span<const std::uint8_t> b = {}) noexcept {
  crypto_generichash_state state;
  crypto_generichash_init(&state, key.empty() ? nullptr : key.data(), key.size(), out.size());
  crypto_generichash_update(&state, a.data(), a.size());
  if (!b.empty()) crypto_generichash_update(&state, b.data(), b.size());
  crypto_generichash_final(&state, out.data(), out.size());
}

Mac mac_over(std::span<const std::uint8_t> key, std::span<const std::uint8_t> bytes) noexcept {
  Mac m{};
  blake2b(m, key, bytes);
  return m;
}

// The address bytes a cookie covers: IPv4 (4) or IPv6 (16) address, then the port.
std::size_t address_bytes(const Endpoint& e, std::uint8_t out[18]) noexcept {
  const sockaddr* sa = e.sockaddr_ptr();
  if (e.family() == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
    std::memcpy(out, &v4->sin_addr, 4);
    std::memcpy(out + 4, &v4->sin_port, 2);
    return 6;
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
  std::memcpy(out, &v6->sin6_addr, 16);
  std::memcpy(out + 16, &v6->sin6_port, 2);
  return 18;
}

}  // namespace

Tai64n tai64n(std::chrono::system_clock::time_point t) noexcept {
  const auto since = t.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  auto nanos = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs).count());
  nanos &= ~((1u << 24) - 1);
  Tai64n out{};
  store_be64(out, 0x400000000000000aULL + static_cast<std::uint64_t>(secs.count()));
  store_be32(std::span<std::uint8_t>(out).subspan(8), nanos);
  return out;
}

MacKeys::MacKeys(const noise::PublicKey& receiver_public) noexcept {
  static const std::uint8_t kMac1Label[8] = {'m', 'a', 'c', '1', '-', '-', '-', '-'};
  static const std::uint8_t kCookieLabel[8] = {'c', 'o', 'o', 'k', 'i', 'e', '-', '-'};
  blake2b(mac1, {}, kMac1Label, receiver_public);
  blake2b(cookie, {}, kCookieLabel, receiver_public);
}

// ---------------------------------------------------------------------------------- client

ClientHandshake::ClientHandshake(std::span<const std::uint8_t, 32> static_private,
                                 const noise::PublicKey& server_public, std::span<const std::uint8_t, 32> psk) noexcept
    : server_(server_public),
      psk_(psk),
      server_macs_(server_public),
      own_macs_(noise::KeyPair::from_private(static_private).public_key) {
  std::memcpy(private_.bytes().data(), static_private.data(), 32);
  crypto_scalarmult_base(public_.data(), private_.bytes().data());
}

void ClientHandshake::create_initiation(std::uint32_t sender_index, const v2::InitiationPayload& payload, TimePoint now,
                                        std::span<std::uint8_t, v2::initiation::kSize> out,
                                        const noise::KeyPair* ephemeral) noexcept {
  const auto prologue = std::span(reinterpret_cast<const std::uint8_t*>(kPrologue.data()), kPrologue.size());
  pending_.emplace(private_.bytes(), server_, psk_.bytes(), prologue);
  sender_index_ = sender_index;
  v2::write_prefix(v2::MessageType::initiation, out);
  store_be32(out.subspan(v2::initiation::kSender), sender_index);
  std::array<std::uint8_t, v2::initiation::kPayloadSize> plain{};
  v2::encode(payload, plain);
  // The server key was checked when it was loaded; a low-order one gives a message that fails.
  if (!pending_->write_message1(plain, out.subspan(v2::initiation::kNoise, noise::message1_size(plain.size())),
                                ephemeral))
    std::memset(out.data() + v2::initiation::kNoise, 0, noise::message1_size(plain.size()));
  sodium_memzero(plain.data(), plain.size());
  last_mac1_ = mac_over(server_macs_.mac1, out.first(v2::initiation::kMac1));
  std::copy(last_mac1_.begin(), last_mac1_.end(), out.begin() + v2::initiation::kMac1);
  Mac mac2{};
  if (has_cookie_ && now - cookie_received_ < kCookieUsableFor)
    mac2 = mac_over(cookie_.bytes(), out.first(v2::initiation::kMac2));
  std::copy(mac2.begin(), mac2.end(), out.begin() + v2::initiation::kMac2);
}

std::optional<SessionKeys> ClientHandshake::consume_response(std::span<const std::uint8_t> msg, Refusal& why) noexcept {
  why = Refusal::none;
  v2::MessageType type{};
  if (v2::classify(msg, type) != protocol::DecodeError::none || type != v2::MessageType::response) {
    why = Refusal::bad_handshake;
    return std::nullopt;
  }
  if (!pending_) {
    why = Refusal::not_pending;
    return std::nullopt;
  }
  if (load_be32(msg.subspan(v2::response::kReceiver)) != sender_index_) {
    why = Refusal::wrong_index;
    return std::nullopt;
  }
  const Mac mac1 = mac_over(own_macs_.mac1, msg.first(v2::response::kMac1));
  if (!equal_ct<v2::kMacSize>(mac1, msg.subspan(v2::response::kMac1).first<v2::kMacSize>())) {
    why = Refusal::bad_mac1;
    return std::nullopt;
  }
  // The server never sends a cookie: mac2 is zero, and anything else is not a genuine response.
  if (sodium_is_zero(msg.data() + v2::response::kMac2, v2::kMacSize) != 1) {
    why = Refusal::bad_mac1;
    return std::nullopt;
  }
  // read_message2 works on a fork: a forged response does not spoil the attempt for the real one.
  noise::Initiator& attempt = *pending_;
  std::array<std::uint8_t, v2::response::kPayloadSize> plain{};
  if (!attempt.read_message2(msg.subspan(v2::response::kNoise, noise::message2_size(plain.size())), plain)) {
    why = Refusal::bad_handshake;
    return std::nullopt;
  }
  v2::ResponsePayload payload;
  if (v2::decode(plain, payload) != protocol::DecodeError::none ||
      (payload.suite != static_cast<std::uint8_t>(CipherSuite::chacha20_poly1305) &&
       payload.suite != static_cast<std::uint8_t>(CipherSuite::aes256_gcm))) {
    why = Refusal::bad_payload;
    return std::nullopt;
  }
  SessionKeys keys;
  attempt.split(keys.send, keys.receive);
  keys.suite = static_cast<CipherSuite>(payload.suite);
  keys.local_index = sender_index_;
  keys.remote_index = load_be32(msg.subspan(v2::response::kSender));
  keys.mtu = payload.mtu;
  pending_.reset();
  return keys;
}

bool ClientHandshake::consume_cookie_reply(std::span<const std::uint8_t> msg, TimePoint now) noexcept {
  v2::MessageType type{};
  if (v2::classify(msg, type) != protocol::DecodeError::none || type != v2::MessageType::cookie_reply) return false;
  if (!pending_ || load_be32(msg.subspan(v2::cookie_reply::kReceiver)) != sender_index_) return false;
  Secret<v2::kCookieSize> cookie;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          cookie.data(), nullptr, nullptr, msg.data() + v2::cookie_reply::kSealed, v2::kCookieSize + v2::kMacSize,
          last_mac1_.data(), last_mac1_.size(), msg.data() + v2::cookie_reply::kNonce, server_macs_.cookie.data()) != 0)
    return false;
  cookie_ = std::move(cookie);
  cookie_received_ = now;
  has_cookie_ = true;
  return true;
}

// ---------------------------------------------------------------------------------- server

ServerHandshake::ServerHandshake(std::span<const std::uint8_t, 32> static_private) noexcept
    : public_(noise::KeyPair::from_private(static_private).public_key), macs_(public_) {
  std::memcpy(private_.bytes().data(), static_private.data(), 32);
}

void ServerHandshake::cookie_for(const Endpoint& source, TimePoint now,
                                 std::span<std::uint8_t, v2::kCookieSize> out) noexcept {
  if (!cookie_secret_set_ || now - cookie_secret_born_ >= kCookieSecretLifetime) {
    randombytes_buf(cookie_secret_.data(), cookie_secret_.size());
    cookie_secret_born_ = now;
    cookie_secret_set_ = true;
  }
  std::uint8_t addr[18];
  const std::size_t n = address_bytes(source, addr);
  blake2b(out, cookie_secret_.bytes(), {addr, n});
}

ServerHandshake::MacCheck ServerHandshake::check_macs(std::span<const std::uint8_t, v2::initiation::kSize> msg,
                                                      const Endpoint& source, TimePoint now) noexcept {
  const Mac mac1 = mac_over(macs_.mac1, msg.first(v2::initiation::kMac1));
  if (!equal_ct<v2::kMacSize>(mac1, msg.subspan(v2::initiation::kMac1).first<v2::kMacSize>()))
    return MacCheck::bad_mac1;
  Secret<v2::kCookieSize> cookie;
  cookie_for(source, now, cookie.bytes());
  const Mac mac2 = mac_over(cookie.bytes(), msg.first(v2::initiation::kMac2));
  if (!equal_ct<v2::kMacSize>(mac2, msg.subspan(v2::initiation::kMac2).first<v2::kMacSize>()))
    return MacCheck::mac1_only;
  return MacCheck::mac1_and_mac2;
}

void ServerHandshake::set_cookie_secret_for_test(std::span<const std::uint8_t, 32> secret, TimePoint now) noexcept {
  std::copy(secret.begin(), secret.end(), cookie_secret_.data());
  cookie_secret_born_ = now;
  cookie_secret_set_ = true;
}

void ServerHandshake::create_cookie_reply(std::span<const std::uint8_t, v2::initiation::kSize> msg,
                                          const Endpoint& source, TimePoint now,
                                          std::span<std::uint8_t, v2::cookie_reply::kSize> out,
                                          const std::uint8_t* nonce) noexcept {
  v2::write_prefix(v2::MessageType::cookie_reply, out);
  std::copy_n(msg.begin() + v2::initiation::kSender, 4, out.begin() + v2::cookie_reply::kReceiver);
  if (nonce != nullptr) std::copy_n(nonce, v2::kCookieNonceSize, out.begin() + v2::cookie_reply::kNonce);
  else randombytes_buf(out.data() + v2::cookie_reply::kNonce, v2::kCookieNonceSize);
  Secret<v2::kCookieSize> cookie;
  cookie_for(source, now, cookie.bytes());
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + v2::cookie_reply::kSealed, nullptr, cookie.data(),
                                             cookie.size(), msg.data() + v2::initiation::kMac1, v2::kMacSize, nullptr,
                                             out.data() + v2::cookie_reply::kNonce, macs_.cookie.data());
}

std::optional<ServerHandshake::Initiation> ServerHandshake::consume_initiation(
    std::span<const std::uint8_t, v2::initiation::kSize> msg) noexcept {
  const auto prologue = std::span(reinterpret_cast<const std::uint8_t*>(kPrologue.data()), kPrologue.size());
  Initiation in{noise::Responder(private_.bytes(), public_, prologue), {}, {}, load_be32(msg.subspan(v2::initiation::kSender))};
  std::array<std::uint8_t, v2::initiation::kPayloadSize> plain{};
  if (!in.noise.read_message1(msg.subspan(v2::initiation::kNoise, noise::message1_size(plain.size())), in.client, plain))
    return std::nullopt;
  const bool ok = v2::decode(plain, in.payload) == protocol::DecodeError::none;
  sodium_memzero(plain.data(), plain.size());
  if (!ok) return std::nullopt;
  return in;
}

bool ServerHandshake::create_response(Initiation& initiation, std::uint32_t local_index,
                                      const v2::ResponsePayload& payload, std::span<const std::uint8_t, 32> psk,
                                      std::span<std::uint8_t, v2::response::kSize> out, SessionKeys& keys,
                                      const noise::KeyPair* ephemeral) noexcept {
  v2::write_prefix(v2::MessageType::response, out);
  store_be32(out.subspan(v2::response::kSender), local_index);
  store_be32(out.subspan(v2::response::kReceiver), initiation.sender_index);
  std::array<std::uint8_t, v2::response::kPayloadSize> plain{};
  v2::encode(payload, plain);
  if (!initiation.noise.write_message2(psk, plain, out.subspan(v2::response::kNoise, noise::message2_size(plain.size())),
                                       ephemeral))
    return false;
  const MacKeys client_macs(initiation.client);
  const Mac mac1 = mac_over(client_macs.mac1, out.first(v2::response::kMac1));
  std::copy(mac1.begin(), mac1.end(), out.begin() + v2::response::kMac1);
  std::fill_n(out.begin() + v2::response::kMac2, v2::kMacSize, std::uint8_t{kDefault});
  initiation.noise.split(keys.send, keys.receive);
  keys.suite = static_cast<CipherSuite>(payload.suite);
  keys.local_index = local_index;
  keys.remote_index = initiation.sender_index;
  keys.mtu = payload.mtu;
  return true;
}

}  // namespace vswitch::handshake
