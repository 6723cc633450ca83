#include "vswitch/protocol.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

using namespace vswitch::protocol;

namespace {

std::vector<std::uint8_t> data_message(std::size_t frame_size) {
  std::vector<std::uint8_t> msg(kDataHeaderSize + frame_size, 0xab);
  encode_data_header({7, 9}, msg);
  return msg;
}

}  // namespace

TEST(Protocol, HelloRoundTrip) {
  std::uint8_t buf[kHelloSize];
  ASSERT_EQ(encode(Hello{0xdeadbeef, 0x1122334455667788ULL, 1400}, buf), kHelloSize);
  Hello h{};
  ASSERT_EQ(decode(buf, h), DecodeError::none);
  EXPECT_EQ(h.sender_index, 0xdeadbeefu);
  EXPECT_EQ(h.network_id, 0x1122334455667788ULL);
  EXPECT_EQ(h.mtu, 1400);
  // Wire layout is big-endian at fixed offsets (docs/protocol.md).
  EXPECT_EQ(buf[0], kVersion);
  EXPECT_EQ(buf[1], static_cast<std::uint8_t>(MessageType::hello));
  EXPECT_EQ(buf[4], 0xde);
  EXPECT_EQ(buf[8], 0x11);
  EXPECT_EQ(buf[16], 1400 >> 8);
}

TEST(Protocol, WelcomeRoundTrip) {
  std::uint8_t buf[kWelcomeSize];
  encode(Welcome{1, 2, 3, 1500}, buf);
  Welcome w{};
  ASSERT_EQ(decode(buf, w), DecodeError::none);
  EXPECT_EQ(w.receiver_index, 1u);
  EXPECT_EQ(w.sender_index, 2u);
  EXPECT_EQ(w.network_id, 3u);
  EXPECT_EQ(w.mtu, 1500);
}

TEST(Protocol, DataAndKeepaliveShareTheFixedHeader) {
  auto msg = data_message(60);
  DataHeader d{};
  ASSERT_EQ(decode(msg, d), DecodeError::none);
  EXPECT_EQ(d.receiver_index, 7u);
  EXPECT_EQ(d.counter, 9u);
  EXPECT_EQ(data_frame(msg).size(), 60u);

  std::uint8_t ka[kKeepaliveSize];
  encode_keepalive({5, 6}, ka);
  ASSERT_EQ(decode(ka, d), DecodeError::none);
  EXPECT_EQ(d.receiver_index, 5u);
  MessageType t{};
  ASSERT_EQ(check_prefix(ka, t), DecodeError::none);
  EXPECT_EQ(t, MessageType::keepalive);
}

TEST(Protocol, ByeRoundTripAndBadReason) {
  std::uint8_t buf[kByeSize];
  encode(Bye{42, ByeReason::unknown_session}, buf);
  Bye b{};
  ASSERT_EQ(decode(buf, b), DecodeError::none);
  EXPECT_EQ(b.receiver_index, 42u);
  EXPECT_EQ(b.reason, ByeReason::unknown_session);
  buf[8] = 99;
  EXPECT_EQ(decode(buf, b), DecodeError::bad_field);
}

TEST(Protocol, RejectsEveryTruncation) {
  std::uint8_t hello[kHelloSize];
  encode(Hello{1, 1, 1400}, hello);
  Hello h{};
  for (std::size_t n = 0; n < kHelloSize; ++n)
    EXPECT_NE(decode(std::span<const std::uint8_t>(hello, n), h), DecodeError::none) << n;
  auto msg = data_message(kEthernetHeaderSize);
  DataHeader d{};
  for (std::size_t n = 0; n < msg.size(); ++n)
    EXPECT_NE(decode(std::span<const std::uint8_t>(msg.data(), n), d), DecodeError::none) << n;
}

TEST(Protocol, RejectsBadPrefixFields) {
  auto msg = data_message(64);
  MessageType t{};
  msg[0] = 2;
  EXPECT_EQ(check_prefix(msg, t), DecodeError::bad_version);
  msg[0] = kVersion;
  msg[1] = 0;
  EXPECT_EQ(check_prefix(msg, t), DecodeError::bad_type);
  msg[1] = 77;
  EXPECT_EQ(check_prefix(msg, t), DecodeError::bad_type);
  msg[1] = static_cast<std::uint8_t>(MessageType::data);
  msg[2] = 0x01;
  EXPECT_EQ(check_prefix(msg, t), DecodeError::bad_flags);
  msg[2] = 0;
  msg[3] = 1;
  EXPECT_EQ(check_prefix(msg, t), DecodeError::bad_field);
}

TEST(Protocol, RejectsWrongLengths) {
  std::uint8_t buf[kHelloSize + 1] = {};
  encode(Hello{1, 1, 1400}, buf);
  Hello h{};
  EXPECT_EQ(decode(buf, h), DecodeError::bad_length);
  auto huge = data_message(max_frame_size(kMaxMtu) + 1);
  MessageType t{};
  EXPECT_EQ(check_prefix(huge, t), DecodeError::bad_length);
}

TEST(Protocol, RejectsOutOfRangeMtuAndReservedBytes) {
  std::uint8_t buf[kHelloSize];
  Hello h{};
  encode(Hello{1, 1, 100}, buf);
  EXPECT_EQ(decode(buf, h), DecodeError::bad_field);
  encode(Hello{1, 1, 1400}, buf);
  buf[20] = 1;
  EXPECT_EQ(decode(buf, h), DecodeError::bad_field);
}

TEST(Protocol, DecodeTypeMustMatch) {
  std::uint8_t buf[kWelcomeSize];
  encode(Welcome{1, 2, 3, 1400}, buf);
  Hello h{};
  EXPECT_EQ(decode(buf, h), DecodeError::bad_type);
}

TEST(Protocol, RandomGarbageNeverCrashesAndRarelyPasses) {
  std::mt19937 rng(12345);
  std::vector<std::uint8_t> buf;
  int accepted = 0;
  for (int i = 0; i < 100000; ++i) {
    buf.resize(rng() % 120);
    for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
    MessageType t{};
    if (check_prefix(buf, t) == DecodeError::none) ++accepted;
    Hello h{};
    Welcome w{};
    DataHeader d{};
    Bye b{};
    (void)decode(buf, h);
    (void)decode(buf, w);
    (void)decode(buf, d);
    (void)decode(buf, b);
  }
  // Version, type, flags and reserved must all match: about 5 in 2^32 random prefixes do.
  EXPECT_LT(accepted, 5);
}

TEST(Protocol, TunnelMtuFitsOneUnderlayPacket) {
  const auto mtu4 = tunnel_mtu(1500, false);
  EXPECT_EQ(kIpv4HeaderSize + kUdpHeaderSize + kDataHeaderSize + kReservedTagSize +
                max_frame_size(mtu4),
            1500u);
  EXPECT_EQ(tunnel_mtu(1500, true), mtu4 - 20);
}
