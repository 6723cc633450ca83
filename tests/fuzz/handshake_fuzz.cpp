// libFuzzer target for everything a handshake-family or control datagram reaches: the server's
// initiation path (mac1, mac2, Noise message 1, its payload), the client's response and cookie
// paths, v1's join messages, v2's CONTROL bodies, and a joined client session's handlers.
// Unauthenticated bytes are fed raw; to reach the code behind authentication the harness also
// builds genuine messages (fixed keys) around the fuzz bytes as their encrypted payloads.
// The first byte picks the mode. Invariants are checked with abort(); memory errors by the
// sanitizers. Built with clang and -DVSWITCH_FUZZ=ON.
#include <sodium.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "vswitch/client_session.hpp"
#include "vswitch/handshake.hpp"
#include "vswitch/join_token.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/protocol_v2.hpp"

using namespace vswitch;
namespace v2 = vswitch::protocol::v2;

namespace {

const TimePoint kNow = TimePoint{} + std::chrono::seconds(1000);

std::array<std::uint8_t, 32> fixed(std::uint8_t seed) {
  std::array<std::uint8_t, 32> k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(seed + i * 7);
  return k;
}

struct Keys {
  noise::KeyPair server = noise::KeyPair::from_private(fixed(1));
  noise::KeyPair client = noise::KeyPair::from_private(fixed(2));
  noise::KeyPair client_e = noise::KeyPair::from_private(fixed(3));
  noise::KeyPair server_e = noise::KeyPair::from_private(fixed(4));
  std::array<std::uint8_t, 32> psk{};
};

void check(bool ok) {
  if (!ok) std::abort();
}

std::array<std::uint8_t, v2::initiation::kSize> initiation(handshake::ClientHandshake& c, const Keys& k,
                                                           const v2::InitiationPayload& p) {
  std::array<std::uint8_t, v2::initiation::kSize> msg{};
  c.create_initiation(42, p, kNow, msg, &k.client_e);
  return msg;
}

void raw_everywhere(std::span<const std::uint8_t> in, const Keys& k) {
  v2::MessageType t2{};
  (void)v2::classify(in, t2);
  protocol::MessageType t1{};
  (void)protocol::check_prefix(in, t1);
  protocol::Hello hello{};
  protocol::Welcome welcome{};
  protocol::Bye bye{};
  protocol::Challenge challenge{};
  protocol::DataHeader header{};
  (void)protocol::decode(in, hello);
  (void)protocol::decode(in, welcome);
  (void)protocol::decode(in, bye);
  (void)protocol::decode(in, challenge);
  (void)protocol::decode(in, header);
  v2::Control control;
  if (v2::decode(in, control) == protocol::DecodeError::none) {
    std::array<std::uint8_t, 16> out{};
    check(v2::encode(control, out) == in.size());
    check(std::memcmp(out.data(), in.data(), in.size()) == 0);
  }
  if (in.size() == v2::initiation::kSize) {
    handshake::ServerHandshake server(k.server.private_key.bytes());
    const std::span<const std::uint8_t, v2::initiation::kSize> msg(in.data(), v2::initiation::kSize);
    const Endpoint from = *Endpoint::parse_numeric("198.18.0.11:4000", 1);
    if (server.check_macs(msg, from, kNow) != handshake::ServerHandshake::MacCheck::bad_mac1)
      (void)server.consume_initiation(msg);
  }
  JoinTokens tokens;
  if (protocol::decode(in, hello) == protocol::DecodeError::none)
    (void)tokens.valid(*Endpoint::parse_numeric("198.18.0.11:4000", 1), hello, kNow);
}

// A genuine initiation whose 24-byte payload is the fuzz bytes: the server's payload decoder and
// everything after it, then the client's response handling.
void through_the_server(std::span<const std::uint8_t> in, const Keys& k) {
  handshake::ClientHandshake client(k.client.private_key.bytes(), k.server.public_key, k.psk);
  std::array<std::uint8_t, v2::initiation::kPayloadSize> raw{};
  std::memcpy(raw.data(), in.data(), std::min(in.size(), raw.size()));
  v2::InitiationPayload p;
  if (v2::decode(raw, p) != protocol::DecodeError::none) {
    p = {};
    p.network = 1;
    p.suites = raw[20] | 1;
    p.mtu = static_cast<std::uint16_t>(576 + raw[0]);
  }
  const auto msg = initiation(client, k, p);
  handshake::ServerHandshake server(k.server.private_key.bytes());
  const Endpoint from = *Endpoint::parse_numeric("198.18.0.11:4000", 1);
  check(server.check_macs(msg, from, kNow) != handshake::ServerHandshake::MacCheck::bad_mac1);
  auto consumed = server.consume_initiation(msg);
  check(consumed.has_value());
  check(consumed->client == k.client.public_key);
  v2::ResponsePayload rp{static_cast<std::uint8_t>(in.size() > 24 ? in[24] : 1), p.mtu};
  std::array<std::uint8_t, v2::response::kSize> response{};
  handshake::SessionKeys server_keys;
  check(server.create_response(*consumed, 7, rp, k.psk, response, server_keys, &k.server_e));
  handshake::ClientHandshake::Refusal why{};
  const auto keys = client.consume_response(response, why);
  const bool suite_ok = rp.suite == 1 || rp.suite == 2;
  check(keys.has_value() == suite_ok);
  if (keys) check(sodium_memcmp(keys->send.data(), server_keys.receive.data(), 32) == 0);
}

// Raw bytes as a response and as a cookie reply to a pending attempt: nothing forged may
// complete it, and the genuine response still must afterwards.
void at_the_client(std::span<const std::uint8_t> in, const Keys& k) {
  handshake::ClientHandshake client(k.client.private_key.bytes(), k.server.public_key, k.psk);
  v2::InitiationPayload p;
  p.network = 1;
  p.suites = 2;
  p.mtu = 1400;
  const auto msg = initiation(client, k, p);
  handshake::ClientHandshake::Refusal why{};
  check(!client.consume_response(in, why).has_value());
  (void)client.consume_cookie_reply(in, kNow);
  handshake::ServerHandshake server(k.server.private_key.bytes());
  auto consumed = server.consume_initiation(msg);
  check(consumed.has_value());
  std::array<std::uint8_t, v2::response::kSize> response{};
  handshake::SessionKeys server_keys;
  check(server.create_response(*consumed, 7, {1, 1400}, k.psk, response, server_keys, &k.server_e));
  check(client.consume_response(response, why).has_value());
}

// A joined client session: the fuzz bytes as any message from the server.
void at_a_session(std::span<const std::uint8_t> in, const Keys& k, bool secure) {
  EpochDomain epochs;
  ClientSessionConfig config;
  config.suites = 2;
  std::optional<handshake::ClientHandshake> hs;
  if (secure) hs.emplace(k.client.private_key.bytes(), k.server.public_key, k.psk);
  ClientSession session(config, std::move(hs), epochs);
  ClientSession::Output out;
  session.start(kNow, out);
  std::vector<std::uint8_t> copy(in.begin(), in.end());
  session.on_control(copy, kNow, out);
  copy.assign(in.begin(), in.end());
  (void)session.on_data(copy, kNow, out);
  session.on_timer(kNow + std::chrono::seconds(2), out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool ready = sodium_init() >= 0;
  static const Keys keys;
  if (!ready || size == 0) return 0;
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0: raw_everywhere(in, keys); break;
    case 1: through_the_server(in, keys); break;
    case 2: at_the_client(in, keys); break;
    case 3: at_a_session(in, keys, true); break;
    case 4: at_a_session(in, keys, false); break;
  }
  return 0;
}
