// The per-packet path with real sealed messages: phase A (open, replay), phase B (admit, switch,
// plan) and phase C (seal), for v2 sessions and v1's plaintext seam, with a fake clock.
#include "vswitch/data_plane.hpp"

#include <gtest/gtest.h>

#include "session_fixture.hpp"

using namespace vswitch;
using namespace vswitch::test;
using namespace std::chrono_literals;
namespace v2 = vswitch::protocol::v2;

namespace {

constexpr std::uint64_t kA = 0x02000000000aULL, kB = 0x02000000000bULL;
constexpr std::uint64_t kBroadcast = 0xffffffffffffULL;

// Confirms a fresh v2 session the way the client does: its first packet, a keepalive.
void confirm(SessionFixture& f, TestClient& c, TimePoint now = kT0) {
  auto ka = f.data(c, {}, MessageKind::keepalive);
  f.receive(ka, c, now);
}

// What the egress client makes of a message phase C sealed for it.
std::vector<std::uint8_t> open_at(TestClient& c, std::vector<std::uint8_t> msg) {
  auto payload = open(c.keypair, msg);
  if (!payload) return {};
  return {payload->begin(), payload->end()};
}

std::vector<std::uint8_t> seal_for(const Outbound& o, const Inbound& in) {
  std::vector<std::uint8_t> msg(o.keypair->overhead() + in.payload.size());
  std::copy(in.payload.begin(), in.payload.end(), msg.begin() + protocol::kDataHeaderSize);
  msg.resize(seal_frame(o, msg, in.payload.size()));
  return msg;
}

}  // namespace

TEST(DataPlane, SecureUnicastIsDecryptedSwitchedAndSealedForTheEgressPort) {
  SessionFixture f;
  auto& c1 = f.join_secure(1);
  auto& c2 = f.join_secure(2);
  confirm(f, c1);
  confirm(f, c2);
  auto learn = f.data(c2, SessionFixture::frame(kBroadcast, kB));
  ASSERT_EQ(f.receive(learn, c2).size(), 1u);  // flooded to c1
  const auto frame = SessionFixture::frame(kB, kA, 200);
  auto msg = f.data(c1, frame);
  const auto plan = f.receive(msg, c1);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].kind, Outbound::Kind::forward_in_place);
  EXPECT_EQ(plan[0].port, c2.port);
  EXPECT_EQ(plan[0].endpoint, c2.endpoint);
  // Phase A decrypted in place: the inbound payload is the plaintext frame.
  EXPECT_EQ(std::vector<std::uint8_t>(f.last_inbound.payload.begin(), f.last_inbound.payload.end()), frame);
  // Phase C in place: the same buffer now holds a message only c2 can open.
  const std::size_t n = seal_frame(plan[0], f.last_inbound.message, frame.size());
  ASSERT_EQ(n, msg.size());
  EXPECT_EQ(open_at(c2, msg), frame);
  EXPECT_TRUE(open_at(c1, msg).empty());
}

TEST(DataPlane, FloodGoesToEveryOtherConfirmedPortSealedForEach) {
  SessionFixture f;
  auto& c1 = f.join_secure(1);
  auto& c2 = f.join_secure(2);
  auto& c3 = f.join_secure(3);
  f.join_secure(4);  // never confirms: gets nothing
  for (auto* c : {&c1, &c2, &c3}) confirm(f, *c);
  const auto frame = SessionFixture::frame(kBroadcast, kA);
  auto msg = f.data(c1, frame);
  const auto plan = f.receive(msg, c1);
  ASSERT_EQ(plan.size(), 2u);
  for (const auto& o : plan) {
    EXPECT_EQ(o.kind, Outbound::Kind::forward_copy);
    TestClient& dest = o.port == c2.port ? c2 : c3;
    EXPECT_EQ(open_at(dest, seal_for(o, f.last_inbound)), frame);
  }
}

TEST(DataPlane, AnUnconfirmedSessionIsConfirmedByItsFirstPacketWhichSetsTheEndpoint) {
  SessionFixture f;
  auto& c1 = f.join_secure(1);
  const Port* p = f.state.core.ports().find(c1.port);
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(p->active);
  EXPECT_EQ(f.state.sender(c1.port), nullptr);  // nothing to send with before confirmation
  confirm(f, c1);
  EXPECT_TRUE(f.state.core.ports().find(c1.port)->active);
  EXPECT_NE(f.state.sender(c1.port), nullptr);
  EXPECT_EQ(f.state.sessions.peer(c1.port).endpoint, c1.endpoint);
}

TEST(DataPlane, ReplaysAndForgeriesChangeNothing) {
  SessionFixture f;
  auto& c1 = f.join_secure(1);
  auto& c2 = f.join_secure(2);
  confirm(f, c1);
  confirm(f, c2);
  auto msg = f.data(c1, SessionFixture::frame(kBroadcast, kA));
  const auto copy = msg;
  EXPECT_EQ(f.receive(msg, c1).size(), 1u);
  // The same datagram again (a capture replayed): dropped after the tag verified.
  auto replay = copy;
  EXPECT_TRUE(f.receive(replay, c1).empty());
  EXPECT_EQ(f.drops_of(DropReason::replay), 1u);
  // Every bit of a fresh message flipped in turn: never accepted, never learned, window unmoved.
  const auto fresh = f.data(c1, SessionFixture::frame(kBroadcast, 0x02000000000eULL));
  const auto fdb_before = f.state.core.fdb().size();
  const auto rx_before = f.state.core.ports().find(c1.port)->rx_packets;
  for (std::size_t bit = 0; bit < fresh.size() * 8; ++bit) {
    auto bad = fresh;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_TRUE(f.receive(bad, c1).empty()) << "bit " << bit;
  }
  EXPECT_EQ(f.state.core.fdb().size(), fdb_before);
  EXPECT_EQ(f.state.core.ports().find(c1.port)->rx_packets, rx_before);
  // The genuine message still passes afterwards: nothing the forgeries did advanced the window.
  auto genuine = fresh;
  EXPECT_EQ(f.receive(genuine, c1).size(), 1u);
}

TEST(DataPlane, ReorderedMessagesWithinTheWindowAreAcceptedOnce) {
  SessionFixture f;
  auto& c1 = f.join_secure(1);
  auto& c2 = f.join_secure(2);
  confirm(f, c1);
  confirm(f, c2);
  std::vector<std::vector<std::uint8_t>> msgs;
  for (int i = 0; i < 5; ++i) msgs.push_back(f.data(c1, SessionFixture::frame(kBroadcast, kA)));
  for (int i : {4, 0, 2, 1, 3}) {
    auto m = msgs[static_cast<std::size_t>(i)];
    EXPECT_EQ(f.receive(m, c1).size(), 1u) << i;
  }
  for (int i : {0, 4}) {
    auto m = msgs[static_cast<std::size_t>(i)];
    EXPECT_TRUE(f.receive(m, c1).empty()) << i;
  }
}

TEST(DataPlane, AuthenticatedPacketFromANewAddressMovesTheEndpoint) {
  SessionFixture f;
  auto& c1 = f.join_secure(1);
  auto& c2 = f.join_secure(2);
  confirm(f, c1);
  confirm(f, c2);
  const Endpoint moved = *Endpoint::parse_numeric("198.18.7.7:5555", 1);
  auto msg = f.data(c1, SessionFixture::frame(kBroadcast, kA));
  f.receive(msg, c1, kT0, &moved);
  EXPECT_EQ(f.state.sessions.peer(c1.port).endpoint, moved);
  EXPECT_EQ(f.state.core.stats().roams, 1u);
  // A forged packet from yet another address moves nothing.
  const Endpoint attacker = *Endpoint::parse_numeric("198.18.6.6:1", 1);
  auto forged = f.data(c1, SessionFixture::frame(kBroadcast, kA));
  forged.back() ^= 1;
  f.receive(forged, c1, kT0, &attacker);
  EXPECT_EQ(f.state.sessions.peer(c1.port).endpoint, moved);
}

TEST(DataPlane, PlaintextSessionsRequireTheirEndpoint) {
  SessionFixture f(false);
  auto& c1 = f.join_plain(1);
  f.join_plain(2);
  const Endpoint impostor = *Endpoint::parse_numeric("198.18.0.66:4000", 1);
  auto msg = f.data(c1, SessionFixture::frame(kBroadcast, kA));
  EXPECT_TRUE(f.receive(msg, c1, kT0, &impostor).empty());
  EXPECT_EQ(f.drops_of(DropReason::endpoint_mismatch), 1u);
  EXPECT_EQ(f.state.core.fdb().size(), 0u);
  auto again = f.data(c1, SessionFixture::frame(kBroadcast, kA));
  EXPECT_EQ(f.receive(again, c1).size(), 1u);
}

TEST(DataPlane, V1KeepaliveIsAnsweredAndV2PingGetsAPong) {
  SessionFixture plain(false);
  auto& p1 = plain.join_plain(1);
  auto ka = plain.data(p1, {}, MessageKind::keepalive);
  auto plan = plain.receive(ka, p1);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].kind, Outbound::Kind::keepalive_reply);
  std::uint8_t reply[64];
  const std::size_t n = seal_reply(plan[0], reply);
  ASSERT_EQ(n, protocol::kKeepaliveSize);
  protocol::DataHeader h{};
  ASSERT_EQ(protocol::decode(std::span<const std::uint8_t>(reply, n), h), protocol::DecodeError::none);
  EXPECT_EQ(h.receiver_index, p1.keypair.local_index.load());

  SessionFixture f;
  auto& c1 = f.join_secure(1);
  confirm(f, c1);
  std::vector<std::uint8_t> ping(v2::kPingSize);
  v2::encode(v2::Control{v2::ControlOp::ping, 42, {}}, ping);
  auto msg = f.data(c1, ping, MessageKind::control);
  plan = f.receive(msg, c1);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].kind, Outbound::Kind::pong);
  std::vector<std::uint8_t> pong(64);
  pong.resize(seal_reply(plan[0], pong));
  const auto body = open_at(c1, pong);
  v2::Control c;
  ASSERT_EQ(v2::decode(body, c), protocol::DecodeError::none);
  EXPECT_EQ(c.op, v2::ControlOp::pong);
  EXPECT_EQ(c.sequence, 42u);
}

TEST(DataPlane, AuthenticatedByeRemovesThePortAndItsMacs) {
  SessionFixture f;
  auto& c1 = f.join_secure(1);
  auto& c2 = f.join_secure(2);
  confirm(f, c1);
  confirm(f, c2);
  auto learn = f.data(c1, SessionFixture::frame(kBroadcast, kA));
  f.receive(learn, c1);
  ASSERT_EQ(f.state.core.fdb().size(), 1u);
  std::vector<std::uint8_t> bye(v2::kByeSize);
  v2::encode(v2::Control{v2::ControlOp::bye, 0, v2::ByeReason::shutdown}, bye);
  auto msg = f.data(c1, bye, MessageKind::control);
  f.receive(msg, c1);
  EXPECT_EQ(f.state.core.ports().find(c1.port), nullptr);
  EXPECT_EQ(f.state.core.fdb().size(), 0u);
  EXPECT_EQ(f.state.core.stats().ports_left, 1u);
  // Its session is gone from the index: later messages are unknown.
  auto after = f.data(c1, SessionFixture::frame(kBroadcast, kA));
  EXPECT_TRUE(f.receive(after, c1).empty());
  EXPECT_EQ(f.drops_of(DropReason::unknown_session), 1u);
}

TEST(DataPlane, RekeyKeepsThePortAndUsesTheNewSessionOnceConfirmed) {
  SessionFixture f;
  auto& c1 = f.join_secure(1);
  auto& c2 = f.join_secure(2);
  confirm(f, c1);
  confirm(f, c2);
  const PortIndex port = c1.port;
  Keypair* old_sender = f.state.sender(port);
  f.rekey(c1, CipherSuite::chacha20_poly1305, kT0 + 120s);
  EXPECT_EQ(c1.port, port);
  EXPECT_EQ(f.state.sender(port), old_sender);  // not before the client used the new one
  confirm(f, c1, kT0 + 120s);
  EXPECT_NE(f.state.sender(port), old_sender);
  EXPECT_EQ(f.state.sessions.peer(port).previous, old_sender);
}

TEST(DataPlane, SessionsExpireAfterRejectAfterTimeWithoutANewOne) {
  SessionFixture f;
  auto& c1 = f.join_secure(1);
  auto& c2 = f.join_secure(2);
  confirm(f, c1);
  confirm(f, c2);
  // Kept alive by traffic, but never rekeyed: refused at 180 s, the port removed with it.
  for (auto t = kT0; t < kT0 + 179s; t += 30s) {
    auto ka = f.data(c1, {}, MessageKind::keepalive);
    f.receive(ka, c1, t);
    f.state.expire(t, f.events);
  }
  auto late = f.data(c1, SessionFixture::frame(kBroadcast, kA));
  EXPECT_TRUE(f.receive(late, c1, kT0 + 180s).empty());
  EXPECT_EQ(f.drops_of(DropReason::expired_session), 1u);
  f.state.expire(kT0 + 181s, f.events);
  EXPECT_EQ(f.state.core.ports().find(c1.port), nullptr);
}

TEST(DataPlane, UnconfirmedSessionsAndSilentPortsAreRemoved) {
  SessionConfig sc;
  sc.port_timeout = 30s;
  sc.unconfirmed_timeout = 10s;
  SessionFixture f(true, {}, sc);
  auto& ghost = f.join_secure(1);  // a replayed initiation, say: never confirmed
  auto& c2 = f.join_secure(2);
  confirm(f, c2);
  f.state.expire(kT0 + 11s, f.events);
  EXPECT_EQ(f.state.core.ports().find(ghost.port), nullptr);
  EXPECT_NE(f.state.core.ports().find(c2.port), nullptr);
  f.state.expire(kT0 + 31s, f.events);
  EXPECT_EQ(f.state.core.ports().find(c2.port), nullptr);
  EXPECT_EQ(f.state.core.stats().ports_timed_out, 2u);
}

TEST(DataPlane, RetiredKeypairsAreReusedOnlyAfterEveryReaderMovedOn) {
  SessionFixture f;
  auto* reader = f.state.epochs.register_reader();
  ASSERT_NE(reader, nullptr);
  auto& c1 = f.join_secure(1);
  confirm(f, c1);
  reader->online();  // a packet thread in the middle of a batch
  Keypair* held = f.state.sender(c1.port);
  const auto in_use = f.state.sessions.keypairs_in_use();
  std::vector<PortEvent> events;
  f.state.remove_port(c1.port, PortEvent::Kind::left, events);
  EXPECT_EQ(f.state.sessions.reclaim(f.state.epochs), 0u);  // the reader may still hold it
  EXPECT_EQ(f.state.sessions.keypairs_in_use(), in_use);
  reader->quiescent();  // the batch is over
  EXPECT_EQ(f.state.sessions.reclaim(f.state.epochs), 1u);
  EXPECT_EQ(held->local_index.load(), 0u);
  EXPECT_EQ(f.state.sessions.keypairs_in_use(), in_use - 1);
}

TEST(DataPlane, VersionMismatchesAndGarbageAreCountedNotAnswered) {
  SessionFixture secure;
  auto& c1 = secure.join_secure(1);
  std::vector<std::uint8_t> v1_data(16 + 60, 0);
  protocol::encode_data_header({c1.keypair.remote_index, 0}, v1_data);
  EXPECT_TRUE(secure.receive(v1_data, c1).empty());
  EXPECT_EQ(secure.drops_of(DropReason::version_mismatch), 1u);
  std::vector<std::uint8_t> garbage = {9, 4, 0, 0};
  secure.receive(garbage, c1);
  EXPECT_EQ(secure.drops_of(DropReason::bad_version), 1u);
  auto wrong_length = secure.data(c1, SessionFixture::frame(kBroadcast, kA));
  wrong_length[3] ^= 1;
  secure.receive(wrong_length, c1);
  EXPECT_EQ(secure.drops_of(DropReason::bad_length), 1u);
  std::vector<std::uint8_t> initiation(v2::initiation::kSize, 0);
  initiation[0] = 2;
  initiation[1] = 1;
  secure.receive(initiation, c1);
  EXPECT_EQ(secure.last_intake, Intake::handshake);

  SessionFixture plain(false);
  auto& p1 = plain.join_plain(1);
  auto v2_data = secure.data(c1, SessionFixture::frame(kBroadcast, kA));
  EXPECT_TRUE(plain.receive(v2_data, p1).empty());
  EXPECT_EQ(plain.drops_of(DropReason::version_mismatch), 1u);
  // v1 DATA for an unknown index goes to the control thread (for a rate-limited BYE).
  std::vector<std::uint8_t> unknown(16 + 60, 0);
  protocol::encode_data_header({0xdead, 0}, unknown);
  plain.receive(unknown, p1);
  EXPECT_EQ(plain.last_intake, Intake::handshake);
  EXPECT_EQ(plain.drops_of(DropReason::unknown_session), 1u);
}

TEST(DataPlane, AesGcmSessionsWorkWhereTheCpuHasAes) {
  if (!aes256gcm_available()) GTEST_SKIP() << "no AES-NI here";
  SessionFixture f;
  auto& c1 = f.join_secure(1, 1, CipherSuite::aes256_gcm);
  auto& c2 = f.join_secure(2, 1, CipherSuite::chacha20_poly1305);  // suites are per session
  confirm(f, c1);
  confirm(f, c2);
  const auto frame = SessionFixture::frame(kBroadcast, kA, 1400);
  auto msg = f.data(c1, frame);
  const auto plan = f.receive(msg, c1);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(open_at(c2, seal_for(plan[0], f.last_inbound)), frame);
}
