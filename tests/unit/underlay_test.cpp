#include "vswitch/checksum.hpp"
#include "vswitch/underlay.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

using namespace vswitch;
using namespace vswitch::underlay;

namespace {

UnderlayRoute sample(bool ipv6, bool vlan) {
  UnderlayRoute r;
  std::uint8_t l2[18] = {2, 0, 0, 0, 0, 0xa, 2, 0, 0, 0, 0, 0xb};
  std::size_t n = 12;
  if (vlan) {
    l2[n++] = 0x81, l2[n++] = 0x00, l2[n++] = 0x00, l2[n++] = 0x2a;
  }
  l2[n++] = ipv6 ? 0x86 : 0x08;
  l2[n++] = ipv6 ? 0xdd : 0x00;
  std::copy(l2, l2 + n, r.l2.begin());
  r.l2_size = static_cast<std::uint8_t>(n);
  r.ipv6 = ipv6;
  if (ipv6) {
    inet_pton(AF_INET6, "2001:db8::a", r.local_addr.data());
    inet_pton(AF_INET6, "2001:db8::b", r.remote_addr.data());
  } else {
    inet_pton(AF_INET, "198.18.0.1", r.local_addr.data());
    inet_pton(AF_INET, "198.18.0.11", r.remote_addr.data());
  }
  r.local_port = htons(9797);
  r.remote_port = htons(40000);
  return r;
}

std::vector<std::uint8_t> build(const UnderlayRoute& r, std::size_t payload) {
  std::vector<std::uint8_t> p(r.header_size() + payload);
  for (std::size_t i = 0; i < payload; ++i) p[r.header_size() + i] = static_cast<std::uint8_t>(i * 7);
  write_headers(r, p, payload);
  return p;
}

// Naive RFC 1071 reference: sum 16-bit words in 64 bits, fold at the end.
std::uint16_t reference_checksum(const std::vector<std::uint8_t>& bytes) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < bytes.size(); i += 2)
    sum += static_cast<std::uint64_t>(bytes[i] << 8 | (i + 1 < bytes.size() ? bytes[i + 1] : 0));
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

}  // namespace

class UnderlayRoundTrip : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(UnderlayRoundTrip, WrittenHeadersParseBackAndMirrorIntoTheSameRoute) {
  const auto [ipv6, vlan] = GetParam();
  const UnderlayRoute r = sample(ipv6, vlan);
  const auto p = build(r, 101);
  Packet parsed;
  ASSERT_EQ(parse(p, parsed), ParseError::none);
  EXPECT_EQ(parsed.ipv6, ipv6);
  EXPECT_EQ(parsed.header_size, r.header_size());
  EXPECT_EQ(parsed.payload_size, 101u);
  // Mirroring a packet we sent gives the route back toward us; mirroring twice is identity.
  const UnderlayRoute back = reply_route(p, parsed);
  EXPECT_EQ(back.local_addr, r.remote_addr);
  EXPECT_EQ(back.remote_port, r.local_port);
  const auto p2 = build(back, 101);
  Packet parsed2;
  ASSERT_EQ(parse(p2, parsed2), ParseError::none);
  EXPECT_EQ(reply_route(p2, parsed2), r);
  const Endpoint src = source_endpoint(p, parsed);
  EXPECT_EQ(src.port(), 9797);
  EXPECT_EQ(src.family(), ipv6 ? AF_INET6 : AF_INET);
}

INSTANTIATE_TEST_SUITE_P(Families, UnderlayRoundTrip,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()));

TEST(Underlay, Ipv4HeaderChecksumMatchesReference) {
  const UnderlayRoute r = sample(false, false);
  auto p = build(r, 50);
  std::vector<std::uint8_t> ip(p.begin() + 14, p.begin() + 34);
  const std::uint16_t stored = static_cast<std::uint16_t>(ip[10] << 8 | ip[11]);
  ip[10] = ip[11] = 0;
  EXPECT_EQ(stored, reference_checksum(ip));
}

TEST(Underlay, Ipv6UdpChecksumMatchesReferenceForOddAndEvenPayloads) {
  std::mt19937 rng(3);
  for (std::size_t payload : {0u, 1u, 2u, 17u, 1400u, 1401u}) {
    const UnderlayRoute r = sample(true, false);
    std::vector<std::uint8_t> p(r.header_size() + payload);
    for (std::size_t i = 0; i < payload; ++i) p[r.header_size() + i] = static_cast<std::uint8_t>(rng());
    write_headers(r, p, payload);
    // Pseudo-header (src, dst, length, next header) + UDP header with zero checksum + payload.
    std::vector<std::uint8_t> sum(p.begin() + 14 + 8, p.begin() + 14 + 40);
    const std::size_t len = 8 + payload;
    for (int b : {0, 0, static_cast<int>(len >> 8), static_cast<int>(len & 0xff), 0, 0, 0, 17})
      sum.push_back(static_cast<std::uint8_t>(b));
    std::vector<std::uint8_t> udp(p.begin() + 54, p.end());
    const std::uint16_t stored = static_cast<std::uint16_t>(udp[6] << 8 | udp[7]);
    udp[6] = udp[7] = 0;
    sum.insert(sum.end(), udp.begin(), udp.end());
    std::uint16_t want = reference_checksum(sum);
    if (want == 0) want = 0xffff;
    EXPECT_EQ(stored, want) << payload;
  }
}

TEST(Underlay, RejectsMalformedPackets) {
  const auto good = build(sample(false, false), 40);
  Packet p;
  for (std::size_t n = 0; n < 42; ++n)
    EXPECT_NE(parse(std::span<const std::uint8_t>(good.data(), n), p), ParseError::none) << n;
  auto bad_sum = good;
  bad_sum[14 + 8] ^= 1;  // TTL changed, checksum not
  EXPECT_EQ(parse(bad_sum, p), ParseError::bad_checksum);
  auto fragment = good;
  fragment[14 + 6] = 0x20;
  fragment[14 + 10] = fragment[14 + 11] = 0;
  const auto ip = std::span<std::uint8_t>(fragment).subspan(14, 20);
  const std::uint16_t c = checksum::finish(checksum::add(0, ip));
  fragment[14 + 10] = static_cast<std::uint8_t>(c >> 8);
  fragment[14 + 11] = static_cast<std::uint8_t>(c);
  EXPECT_EQ(parse(fragment, p), ParseError::fragment);
  auto long_udp = good;
  long_udp[14 + 20 + 5] += 1;  // UDP length beyond the IP packet
  EXPECT_EQ(parse(long_udp, p), ParseError::bad_length);
  auto arp = good;
  arp[13] = 0x06;
  EXPECT_EQ(parse(arp, p), ParseError::not_ip);
}

// Defence in depth behind the XDP program: a well-formed packet from an address no real sender
// has is still refused (the own address is the XDP program's and the policy's business).
TEST(Underlay, ImpossibleSourcesAreRefused) {
  Packet p;
  for (const char* source : {"0.0.0.0", "127.0.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255"}) {
    auto r = sample(false, false);
    ASSERT_EQ(inet_pton(AF_INET, source, r.local_addr.data()), 1);
    EXPECT_EQ(parse(build(r, 40), p), ParseError::bad_source) << source;
  }
  for (const char* source : {"::", "::1", "ff02::1", "::ffff:198.18.0.11"}) {
    auto r = sample(true, true);
    ASSERT_EQ(inet_pton(AF_INET6, source, r.local_addr.data()), 1);
    EXPECT_EQ(parse(build(r, 40), p), ParseError::bad_source) << source;
  }
  EXPECT_EQ(parse(build(sample(false, false), 40), p), ParseError::none);
  EXPECT_EQ(parse(build(sample(true, false), 40), p), ParseError::none);
}

TEST(Underlay, EthernetPaddingBehindShortPacketsIsIgnored) {
  auto padded = build(sample(false, false), 4);
  padded.resize(60, 0);
  Packet p;
  ASSERT_EQ(parse(padded, p), ParseError::none);
  EXPECT_EQ(p.payload_size, 4u);
}
