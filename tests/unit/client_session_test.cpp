// vport's session state machine against the real server-side handshake code, with a fake
// clock: joining, confirming, rekeying, expiring, liveness, cookies, v1's challenge, goodbyes.
#include "vswitch/client_session.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include "vswitch/join_token.hpp"

using namespace vswitch;
using namespace std::chrono_literals;
namespace v2 = vswitch::protocol::v2;

namespace {

const TimePoint t0 = TimePoint{} + 1000s;

// The server's side of v2, just enough to answer initiations and seal messages to the client.
struct Server {
  Server() : key(noise::KeyPair::generate()), handshake(key.private_key.bytes()) {}

  // The RESPONSE to an initiation, and the server's keypair for the session.
  std::vector<std::uint8_t> respond(const std::vector<std::uint8_t>& init, std::uint32_t index = 77,
                                    CipherSuite suite = CipherSuite::chacha20_poly1305) {
    EXPECT_EQ(init.size(), v2::initiation::kSize);
    const std::span<const std::uint8_t, v2::initiation::kSize> msg(init.data(), v2::initiation::kSize);
    auto in = handshake.consume_initiation(msg);
    EXPECT_TRUE(in.has_value());
    std::vector<std::uint8_t> out(v2::response::kSize);
    handshake::SessionKeys keys;
    const std::array<std::uint8_t, 32> psk{};
    EXPECT_TRUE(handshake.create_response(*in, index, {static_cast<std::uint8_t>(suite), in->payload.mtu}, psk,
                                          std::span<std::uint8_t, v2::response::kSize>(out), keys));
    session = std::make_unique<Keypair>();
    (void)session->send.set(keys.suite, keys.send.bytes());
    (void)session->receive.set(keys.suite, keys.receive.bytes());
    session->remote_index = keys.remote_index;
    session->local_index.store(index);
    return out;
  }
  std::vector<std::uint8_t> message(MessageKind kind, std::vector<std::uint8_t> body) {
    std::vector<std::uint8_t> msg(v2::kOverhead + body.size());
    std::copy(body.begin(), body.end(), msg.begin() + v2::kHeaderSize);
    msg.resize(seal(*session, kind, *session->take_counters(1), msg, body.size()));
    return msg;
  }

  noise::KeyPair key;
  handshake::ServerHandshake handshake;
  std::unique_ptr<Keypair> session;
};

struct Client {
  explicit Client(const Server& server, bool secure = true)
      : key(noise::KeyPair::generate()),
        session(config(), secure ? std::optional<handshake::ClientHandshake>(std::in_place, key.private_key.bytes(),
                                                                             server.key.public_key, psk)
                                 : std::nullopt,
                epochs) {}
  static ClientSessionConfig config() {
    ClientSessionConfig c;
    c.suites = suite_bit(CipherSuite::chacha20_poly1305);
    c.mtu = 1400;
    return c;
  }
  bool has_event(ClientEvent::Kind kind) const {
    for (const auto& e : out.events)
      if (e.kind == kind) return true;
    return false;
  }
  // The last message of the given v2 type (by its byte 1), or empty.
  std::vector<std::uint8_t> last_of(std::uint8_t type) const {
    for (auto it = out.messages.rbegin(); it != out.messages.rend(); ++it)
      if (it->size() >= 2 && (*it)[1] == type) return *it;
    return {};
  }

  std::array<std::uint8_t, 32> psk{};
  noise::KeyPair key;
  EpochDomain epochs;
  ClientSession session;
  ClientSession::Output out;
};

// Steps the clock second by second, the server answering every ping: a live server. Returns
// whether the client sent an initiation meanwhile.
bool keep_alive(Server& s, Client& c, TimePoint from, TimePoint until) {
  bool initiated = false;
  for (auto t = from; t < until; t += 1s) {
    c.out.clear();
    c.session.on_timer(t, c.out);
    initiated = initiated || !c.last_of(VSWITCH_V2_INITIATION).empty();
    if (auto ping = c.last_of(VSWITCH_V2_CONTROL); !ping.empty()) {
      std::vector<std::uint8_t> pong(v2::kPingSize);
      v2::encode(v2::Control{v2::ControlOp::pong, 1, {}}, pong);
      auto m = s.message(MessageKind::control, pong);
      (void)c.session.on_data(m, t, c.out);
    }
  }
  return initiated;
}

void join(Server& s, Client& c, TimePoint now = t0) {
  c.session.start(now, c.out);
  const auto init = c.last_of(VSWITCH_V2_INITIATION);
  ASSERT_FALSE(init.empty());
  c.out.clear();
  c.session.on_control(s.respond(init), now, c.out);
}

}  // namespace

TEST(ClientSession, JoinsAndConfirmsAtOnce) {
  ASSERT_GE(sodium_init(), 0);
  Server s;
  Client c(s);
  EXPECT_EQ(c.session.tx_keypair(), nullptr);
  join(s, c);
  EXPECT_TRUE(c.session.joined());
  EXPECT_TRUE(c.has_event(ClientEvent::Kind::joined));
  ASSERT_NE(c.session.tx_keypair(), nullptr);
  // The confirmation: a keepalive the server opens with its session.
  auto ka = c.last_of(VSWITCH_V2_DATA);
  ASSERT_EQ(ka.size(), v2::kOverhead);
  EXPECT_TRUE(open(*s.session, ka).has_value());
}

TEST(ClientSession, OpensFramesDropsReplaysAndForgeries) {
  Server s;
  Client c(s);
  join(s, c);
  std::vector<std::uint8_t> frame(60, 0x42);
  frame[6] = 0x02;
  auto msg = s.message(MessageKind::frame, frame);
  const auto copy = msg;
  auto got = c.session.on_data(msg, t0, c.out);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(std::vector<std::uint8_t>(got->begin(), got->end()), frame);
  auto replay = copy;
  EXPECT_FALSE(c.session.on_data(replay, t0, c.out).has_value());
  EXPECT_EQ(c.session.stats().dropped_replay, 1u);
  auto forged = s.message(MessageKind::frame, frame);
  forged[20] ^= 1;
  EXPECT_FALSE(c.session.on_data(forged, t0, c.out).has_value());
  EXPECT_EQ(c.session.stats().dropped_bad, 1u);
}

TEST(ClientSession, RekeysAfter120SecondsAndKeepsTheOldSessionMeanwhile) {
  Server s;
  Client c(s);
  join(s, c);
  Keypair* first = c.session.tx_keypair();
  EXPECT_FALSE(keep_alive(s, c, t0 + 1s, t0 + 120s));
  c.out.clear();
  c.session.on_timer(t0 + 120s, c.out);
  const auto init = c.last_of(VSWITCH_V2_INITIATION);
  ASSERT_FALSE(init.empty());
  EXPECT_EQ(c.session.tx_keypair(), first);  // still sending with the old one
  auto old_msg = s.message(MessageKind::frame, std::vector<std::uint8_t>(60, 1));
  c.out.clear();
  c.session.on_control(s.respond(init, 78), t0 + 120s, c.out);
  EXPECT_TRUE(c.has_event(ClientEvent::Kind::rekeyed));
  EXPECT_NE(c.session.tx_keypair(), first);
  // A message sealed with the previous session (in flight) still opens.
  EXPECT_TRUE(c.session.on_data(old_msg, t0 + 120s, c.out).has_value());
}

TEST(ClientSession, ASessionNotRenewedExpiresAt180Seconds) {
  Server s;
  Client c(s);
  join(s, c);
  // The server answers pings but never the initiations: the rekey fails.
  EXPECT_TRUE(keep_alive(s, c, t0 + 1s, t0 + 180s));
  EXPECT_TRUE(c.session.joined());
  c.out.clear();
  c.session.on_timer(t0 + 180s, c.out);
  EXPECT_TRUE(c.has_event(ClientEvent::Kind::expired));
  EXPECT_FALSE(c.session.joined());
  EXPECT_EQ(c.session.tx_keypair(), nullptr);
  EXPECT_FALSE(c.last_of(VSWITCH_V2_INITIATION).empty());
}

TEST(ClientSession, PingsAfterOneSilentIntervalAndShakesHandsAfterThree) {
  Server s;
  Client c(s);
  join(s, c);
  c.out.clear();
  c.session.on_timer(t0 + 500ms, c.out);
  EXPECT_TRUE(c.out.messages.empty());
  c.session.on_timer(t0 + 1s, c.out);
  const auto ping = c.last_of(VSWITCH_V2_CONTROL);
  ASSERT_FALSE(ping.empty());
  v2::Control ctl;
  std::vector<std::uint8_t> copy = ping;
  auto opened = open(*s.session, copy);
  ASSERT_TRUE(opened.has_value());
  ASSERT_EQ(v2::decode(*opened, ctl), protocol::DecodeError::none);
  EXPECT_EQ(ctl.op, v2::ControlOp::ping);
  c.out.clear();
  c.session.on_timer(t0 + 3s, c.out);
  EXPECT_TRUE(c.has_event(ClientEvent::Kind::server_lost));
  EXPECT_FALSE(c.last_of(VSWITCH_V2_INITIATION).empty());
  EXPECT_NE(c.session.tx_keypair(), nullptr);  // kept until a new session exists
}

TEST(ClientSession, CookieReplyMakesTheNextInitiationCarryMac2) {
  Server s;
  Client c(s);
  c.session.start(t0, c.out);
  const auto init = c.last_of(VSWITCH_V2_INITIATION);
  const Endpoint from = *Endpoint::parse_numeric("198.18.0.11:4000", 1);
  const std::span<const std::uint8_t, v2::initiation::kSize> first(init.data(), v2::initiation::kSize);
  EXPECT_EQ(s.handshake.check_macs(first, from, t0), handshake::ServerHandshake::MacCheck::mac1_only);
  std::array<std::uint8_t, v2::cookie_reply::kSize> cookie{};
  s.handshake.create_cookie_reply(first, from, t0, cookie);
  c.out.clear();
  c.session.on_control(cookie, t0, c.out);
  EXPECT_TRUE(c.has_event(ClientEvent::Kind::cookie));
  c.session.on_timer(t0, c.out);  // retries at once
  const auto again = c.last_of(VSWITCH_V2_INITIATION);
  ASSERT_FALSE(again.empty());
  const std::span<const std::uint8_t, v2::initiation::kSize> second(again.data(), v2::initiation::kSize);
  EXPECT_EQ(s.handshake.check_macs(second, from, t0), handshake::ServerHandshake::MacCheck::mac1_and_mac2);
  // A cookie reply forged without the initiation's mac1 is refused.
  cookie[40] ^= 1;
  EXPECT_FALSE(c.has_event(ClientEvent::Kind::joined));
}

TEST(ClientSession, OnlyAnAuthenticatedByeEndsASecureSession) {
  Server s;
  Client c(s);
  join(s, c);
  std::vector<std::uint8_t> v1_bye(protocol::kByeSize);
  protocol::encode(protocol::Bye{c.session.server_index(), protocol::ByeReason::unknown_session}, v1_bye);
  c.out.clear();
  c.session.on_control(v1_bye, t0, c.out);
  EXPECT_TRUE(c.session.joined());
  EXPECT_TRUE(c.out.events.empty());
  std::vector<std::uint8_t> bye(v2::kByeSize);
  v2::encode(v2::Control{v2::ControlOp::bye, 0, v2::ByeReason::revoked}, bye);
  auto m = s.message(MessageKind::control, bye);
  (void)c.session.on_data(m, t0, c.out);
  EXPECT_FALSE(c.session.joined());
  ASSERT_TRUE(c.has_event(ClientEvent::Kind::server_goodbye));
  EXPECT_EQ(c.out.events[0].reason, "revoked");
  EXPECT_FALSE(c.last_of(VSWITCH_V2_INITIATION).empty());  // starts over at once
}

TEST(ClientSession, IcmpUnreachableOnlyHastensAHandshake) {
  Server s;
  Client c(s);
  join(s, c);
  c.out.clear();
  c.session.on_unreachable(t0 + 1s, c.out);
  EXPECT_TRUE(c.session.joined());
  c.session.on_timer(t0 + 1s, c.out);
  EXPECT_FALSE(c.last_of(VSWITCH_V2_INITIATION).empty());
}

TEST(ClientSession, TransmitCountersLiveInTheKeypairAndAreNeverReset) {
  Server s;
  Client c(s);
  join(s, c);
  Keypair* old = c.session.tx_keypair();
  ASSERT_EQ(*old->take_counters(10), 1u);  // the confirming keepalive took 0
  c.session.on_timer(t0 + 120s, c.out);
  c.session.on_control(s.respond(c.last_of(VSWITCH_V2_INITIATION), 79), t0 + 120s, c.out);
  // A transmit thread still holding the old keypair goes on from where it was: no nonce reuse.
  EXPECT_EQ(*old->take_counters(1), 11u);
  EXPECT_EQ(*c.session.tx_keypair()->take_counters(1), 1u);  // the new one: 0 was its keepalive
}

TEST(ClientSession, V1JoinsThroughTheChallenge) {
  Server s;
  Client c(s, false);
  JoinTokens tokens;
  const Endpoint from = *Endpoint::parse_numeric("198.18.0.11:4000", 1);
  c.session.start(t0, c.out);
  ASSERT_EQ(c.out.messages.size(), 1u);
  protocol::Hello hello{};
  ASSERT_EQ(protocol::decode(c.out.messages[0], hello), protocol::DecodeError::none);
  EXPECT_EQ(hello.token, 0u);
  std::vector<std::uint8_t> challenge(protocol::kChallengeSize);
  protocol::encode(protocol::Challenge{hello.sender_index, tokens.make(from, hello, t0)}, challenge);
  c.out.clear();
  c.session.on_control(challenge, t0, c.out);
  ASSERT_EQ(c.out.messages.size(), 1u);
  protocol::Hello proven{};
  ASSERT_EQ(protocol::decode(c.out.messages[0], proven), protocol::DecodeError::none);
  EXPECT_TRUE(tokens.valid(from, proven, t0));
  EXPECT_FALSE(tokens.valid(*Endpoint::parse_numeric("198.18.0.66:4000", 1), proven, t0));
  std::vector<std::uint8_t> welcome(protocol::kWelcomeSize);
  protocol::encode(protocol::Welcome{proven.sender_index, 4242, 1, 1400}, welcome);
  c.session.on_control(welcome, t0, c.out);
  EXPECT_TRUE(c.session.joined());
  EXPECT_EQ(c.session.server_index(), 4242u);
  EXPECT_TRUE(c.session.tx_keypair()->plaintext);
}

TEST(ClientSession, VersionHintsOnlyProduceEvents) {
  Server s;
  Client v1(s, false);
  v1.session.start(t0, v1.out);
  protocol::Hello hello{};
  ASSERT_EQ(protocol::decode(v1.out.messages[0], hello), protocol::DecodeError::none);
  std::vector<std::uint8_t> hint(protocol::kByeSize);
  protocol::encode(protocol::Bye{hello.sender_index, protocol::ByeReason::authentication_required}, hint);
  v1.out.clear();
  v1.session.on_control(hint, t0, v1.out);
  EXPECT_TRUE(v1.has_event(ClientEvent::Kind::needs_keys));
  protocol::encode(protocol::Bye{hello.sender_index + 1, protocol::ByeReason::authentication_required}, hint);
  v1.out.clear();
  v1.session.on_control(hint, t0, v1.out);
  EXPECT_TRUE(v1.out.events.empty());  // not for our attempt

  Client secure(s);
  secure.session.start(t0, secure.out);
  const auto init = secure.last_of(VSWITCH_V2_INITIATION);
  protocol::encode(protocol::Bye{load_be32(std::span<const std::uint8_t>(init).subspan(4)), protocol::ByeReason::insecure_only}, hint);
  secure.out.clear();
  secure.session.on_control(hint, t0, secure.out);
  EXPECT_TRUE(secure.has_event(ClientEvent::Kind::needs_insecure));
  EXPECT_FALSE(secure.session.joined());
}

TEST(ClientSession, RetriesEverySecondThenEveryFive) {
  Server s;
  Client c(s);
  c.session.start(t0, c.out);
  std::size_t sent = 0;
  for (auto t = t0; t < t0 + 200s; t += 100ms) {
    c.out.clear();
    c.session.on_timer(t, c.out);
    sent += c.out.messages.size();
  }
  // About 90 / 1.17 in the first 90 s (1 s + up to 333 ms jitter), then 110 / 5.17.
  EXPECT_GT(sent, 70u);
  EXPECT_LT(sent, 120u);
}

// A port that only receives (a stream, a multicast listener) sends nothing of its own: its pings
// are what keep the server from removing it after --port-timeout.
TEST(ClientSession, PingsEveryIntervalAlsoWhileFramesArrive) {
  Server s;
  Client c(s);
  join(s, c);
  int pings = 0;
  for (auto t = t0; t < t0 + 10s; t += 100ms) {
    c.out.clear();
    auto m = s.message(MessageKind::frame, std::vector<std::uint8_t>(60, 7));
    ASSERT_TRUE(c.session.on_data(m, t, c.out).has_value());
    c.session.on_timer(t, c.out);
    if (!c.last_of(VSWITCH_V2_CONTROL).empty()) ++pings;
    EXPECT_LE(c.session.next_deadline(), t + 1s);
  }
  // The config's keepalive is 1 s: one ping a second, none lost to the arriving frames.
  EXPECT_GE(pings, 9);
  EXPECT_LE(pings, 11);
}
