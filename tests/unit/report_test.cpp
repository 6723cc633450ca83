// vswitchctl's renderings, from snapshots of a switch with real sessions.
#include "vswitch/report.hpp"

#include <gtest/gtest.h>

#include <set>

#include "session_fixture.hpp"
#include "vswitch/keys.hpp"

using namespace vswitch;
using namespace vswitch::test;
using namespace std::chrono_literals;

namespace {

// One confirmed v2 member on network 42 whose MAC 02:00:00:00:00:01 is learned.
void one_member(SessionFixture& f) {
  auto& c = f.join_secure(11, 42);
  auto ka = f.data(c, {}, MessageKind::keepalive);
  f.receive(ka, c);
  auto frame = SessionFixture::frame(0xffffffffffffULL, 0x020000000001ULL);
  auto msg = f.data(c, frame);
  f.receive(msg, c);
}

}  // namespace

TEST(Report, PortsShowMemberKeySuiteHandshakeAgeAndEndpoint) {
  SessionFixture f;
  one_member(f);
  const auto rows = report::snapshot_ports(f.state, kT0 + 2s);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].member, "c1");
  EXPECT_EQ(rows[0].public_key, key_to_base64(f.clients[0].key));
  EXPECT_EQ(rows[0].suite, "chacha20-poly1305");
  const auto text = report::ports(rows, report::Format::text);
  EXPECT_NE(text.find("198.18.0.11:4000"), std::string::npos);
  EXPECT_NE(text.find("2s ago"), std::string::npos);
  EXPECT_NE(text.find("1 port(s)"), std::string::npos);
  const auto json = report::ports(rows, report::Format::json);
  EXPECT_NE(json.find("\"endpoint\":\"198.18.0.11:4000\""), std::string::npos);
  EXPECT_NE(json.find("\"network\":42"), std::string::npos);
  EXPECT_NE(json.find("\"macs\":1"), std::string::npos);
  EXPECT_NE(json.find("\"member\":\"c1\""), std::string::npos);
  EXPECT_NE(json.find("\"suite\":\"chacha20-poly1305\""), std::string::npos);
  EXPECT_NE(json.find("\"last_handshake_s\":2.000"), std::string::npos);
  EXPECT_NE(json.find("\"public_key\":\"" + key_to_base64(f.clients[0].key) + "\""), std::string::npos);
}

TEST(Report, PlaintextPortsSayPlaintext) {
  SessionFixture f(false);
  f.join_plain(5);
  const auto json = report::ports(report::snapshot_ports(f.state, kT0), report::Format::json);
  EXPECT_NE(json.find("\"suite\":\"plaintext\""), std::string::npos);
  EXPECT_NE(json.find("\"member\":\"\""), std::string::npos);
}

namespace {

// The whole table, in pieces of `piece` pool positions as the server takes it.
std::vector<report::FdbRow> whole_fdb(const SwitchState& state, TimePoint now, std::size_t piece = 7) {
  std::vector<report::FdbRow> rows;
  for (std::size_t at = 0; at < state.core.fdb().max_entries();) at = report::snapshot_fdb(state, now, at, piece, rows);
  return rows;
}

}  // namespace

TEST(Report, FdbShowsLiveEntriesOnly) {
  SessionFixture f;
  one_member(f);
  EXPECT_NE(report::fdb(whole_fdb(f.state, kT0), report::Format::text).find("02:00:00:00:00:01"),
            std::string::npos);
  EXPECT_NE(report::fdb(whole_fdb(f.state, kT0), report::Format::json).find("\"mac\":\"02:00:00:00:00:01\""),
            std::string::npos);
  EXPECT_EQ(report::fdb(whole_fdb(f.state, kT0 + 301s), report::Format::json), "{\"format\":1,\"fdb\":[]}\n");
}

TEST(Report, FdbInPiecesSeesEveryEntryOnce) {
  SessionFixture f(false);
  auto& c = f.join_plain(5);
  f.join_plain(6);
  for (std::uint64_t m = 1; m <= 40; ++m) {
    auto message = f.data(c, SessionFixture::frame(0xffffffffffffULL, 0x020000000000ULL | m));
    f.receive(message, c);
  }
  const auto rows = whole_fdb(f.state, kT0, 3);
  EXPECT_EQ(rows.size(), 40u);
  std::set<std::uint64_t> macs;
  for (const auto& r : rows) macs.insert(r.mac);
  EXPECT_EQ(macs.size(), 40u);
}

TEST(Report, StatsIncludeDatapathFactsEveryDropReasonAndHandshakeRefusal) {
  SessionFixture f;
  one_member(f);
  HandshakeStats h;
  bump(h.accepted, 3);
  bump(h.cookies_sent, 2);
  h.refuse(HandshakeRefusal::not_member);
  metrics::Samples samples;
  metrics::Collector(samples).add("socket_rx_datagrams_total", "", metrics::Type::counter, {},
                                  metrics::Section::datapath, "rx_datagrams", 7);
  f.state.describe(samples);
  h.describe(samples);
  const auto json = report::stats(true, {{"datapath", "socket"}}, samples, report::Format::json);
  EXPECT_NE(json.find("\"mode\":\"secure\""), std::string::npos);
  EXPECT_NE(json.find("\"datapath\":{\"datapath\":\"socket\",\"rx_datagrams\":7}"), std::string::npos) << json;
  EXPECT_NE(json.find("\"ports\":1"), std::string::npos);
  EXPECT_NE(json.find("\"sessions\":"), std::string::npos);
  EXPECT_NE(json.find("\"rx_frames\":1"), std::string::npos);  // a lone port: nowhere to flood
  EXPECT_NE(json.find("\"no_egress\":1"), std::string::npos);
  EXPECT_NE(json.find("\"handshakes_accepted\":3"), std::string::npos);
  EXPECT_NE(json.find("\"cookies_sent\":2"), std::string::npos);
  EXPECT_NE(json.find("\"not_member\":1"), std::string::npos);
  for (std::size_t i = 0; i < kDropReasonCount; ++i)
    EXPECT_NE(json.find("\"" + std::string(to_string(static_cast<DropReason>(i))) + "\""), std::string::npos);
  for (std::size_t i = 0; i < kHandshakeRefusalCount; ++i)
    EXPECT_NE(json.find("\"" + std::string(to_string(static_cast<HandshakeRefusal>(i))) + "\""), std::string::npos);
  const auto text = report::stats(true, {{"datapath", "socket"}}, samples, report::Format::text);
  EXPECT_NE(text.find("refused.not_member"), std::string::npos);
  EXPECT_NE(text.find("drop.no_egress"), std::string::npos);
  EXPECT_EQ(text.find("drop.replay"), std::string::npos);  // reasons that never happened stay out of the table
}

TEST(Report, JsonStringEscapes) { EXPECT_EQ(report::json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\""); }

TEST(Report, ShowGroupsMembersByNetworkWithAFormatVersion) {
  std::vector<report::PortRow> rows(3);
  rows[0] = {};
  rows[0].id = 7;
  rows[0].secure = true;
  rows[0].active = true;
  rows[0].member = "bob";
  rows[0].public_key = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
  rows[0].suite = "aes-256-gcm";
  rows[0].endpoint = "198.18.0.12:40000";
  rows[0].network = 2;
  rows[1] = rows[0];
  rows[1].id = 3;
  rows[1].member = "alice";
  rows[1].network = 1;
  rows[2] = rows[0];
  rows[2].id = 9;
  rows[2].member = "carol";
  rows[2].active = false;
  report::StatsRow stats;
  stats.ports = 3;
  stats.fdb_entries = 5;
  stats.fdb_max = 65536;
  const report::Facts server{{"public key", "SERVERKEY="}, {"listening", "198.18.0.1:9797"}};
  const report::Facts datapath{{"datapath", "socket"}};
  const std::string text = report::show(server, datapath, stats, rows, report::Format::text);
  EXPECT_NE(text.find("public key: SERVERKEY="), std::string::npos) << text;
  EXPECT_NE(text.find("datapath: socket"), std::string::npos);
  EXPECT_NE(text.find("network 1: 1 member(s) online"), std::string::npos) << text;
  EXPECT_NE(text.find("network 2: 2 member(s) online"), std::string::npos) << text;
  EXPECT_LT(text.find("alice"), text.find("bob"));  // network 1 first
  EXPECT_LT(text.find("bob"), text.find("carol"));   // then by port
  EXPECT_NE(text.find("(unconfirmed)"), std::string::npos);
  const std::string json = report::show(server, datapath, stats, rows, report::Format::json);
  EXPECT_EQ(json.rfind("{\"format\":1,\"server\":{\"public key\":\"SERVERKEY=\"", 0), 0u) << json;
  EXPECT_NE(json.find("\"networks\":[{\"network\":1,\"members\":[{\"port\":3,\"member\":\"alice\""), std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"network\":2,\"members\":[{\"port\":7"), std::string::npos) << json;
  EXPECT_EQ(report::show(server, datapath, stats, {}, report::Format::json).find("\"networks\":[]"),
            report::show(server, datapath, stats, {}, report::Format::json).find("\"networks\":"));
}
