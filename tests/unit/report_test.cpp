#include "vswitch/report.hpp"

#include <gtest/gtest.h>

#include "vswitch/protocol.hpp"

using namespace vswitch;
using namespace std::chrono_literals;

namespace {

SwitchCore core_with_one_port_and_mac(TimePoint now) {
  SwitchCore core{SwitchConfig{}};
  std::uint8_t hello[protocol::kHelloSize];
  protocol::encode(protocol::Hello{5, 42, 1400}, hello);
  std::uint8_t reply[SwitchCore::kReplyBufferSize];
  const auto e = *Endpoint::parse_numeric("198.18.0.11:4000", 1);
  const Verdict v = core.receive(e, hello, now, reply);
  protocol::Welcome w{};
  (void)protocol::decode(std::span<const std::uint8_t>(reply, v.reply_size), w);
  std::uint8_t data[protocol::kDataHeaderSize + 60] = {};
  protocol::encode_data_header({w.sender_index, 0}, data);
  std::fill_n(data + protocol::kDataHeaderSize, 6, 0xff);
  data[protocol::kDataHeaderSize + 6] = 0x02;
  data[protocol::kDataHeaderSize + 11] = 0x01;
  core.receive(e, data, now, reply);
  return core;
}

}  // namespace

TEST(Report, PortsTextAndJson) {
  const TimePoint t{1000s};
  auto core = core_with_one_port_and_mac(t);
  const auto text = report::ports(core, t + 2s, report::Format::text);
  EXPECT_NE(text.find("198.18.0.11:4000"), std::string::npos);
  EXPECT_NE(text.find("2.0s ago"), std::string::npos);
  EXPECT_NE(text.find("1 port(s)"), std::string::npos);
  const auto json = report::ports(core, t + 2s, report::Format::json);
  EXPECT_NE(json.find("\"endpoint\":\"198.18.0.11:4000\""), std::string::npos);
  EXPECT_NE(json.find("\"network\":42"), std::string::npos);
  EXPECT_NE(json.find("\"macs\":1"), std::string::npos);
}

TEST(Report, FdbShowsLiveEntriesOnly) {
  const TimePoint t{1000s};
  auto core = core_with_one_port_and_mac(t);
  EXPECT_NE(report::fdb(core, t, report::Format::text).find("02:00:00:00:00:01"), std::string::npos);
  EXPECT_NE(report::fdb(core, t, report::Format::json).find("\"mac\":\"02:00:00:00:00:01\""), std::string::npos);
  EXPECT_EQ(report::fdb(core, t + 301s, report::Format::json), "{\"fdb\":[]}\n");
}

TEST(Report, StatsIncludeDatapathFactsAndEveryDropReason) {
  const TimePoint t{1000s};
  auto core = core_with_one_port_and_mac(t);
  const auto json = report::stats(core, {{"datapath", "socket"}}, report::Format::json);
  EXPECT_NE(json.find("\"datapath\":{\"datapath\":\"socket\"}"), std::string::npos);
  EXPECT_NE(json.find("\"rx_frames\":1"), std::string::npos);  // a lone port: nowhere to flood
  EXPECT_NE(json.find("\"no_egress\":1"), std::string::npos);
  for (std::size_t i = 0; i < kDropReasonCount; ++i)
    EXPECT_NE(json.find("\"" + std::string(to_string(static_cast<DropReason>(i))) + "\""), std::string::npos);
}

TEST(Report, JsonStringEscapes) {
  EXPECT_EQ(report::json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
}
