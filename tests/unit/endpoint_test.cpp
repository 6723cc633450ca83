#include "vswitch/endpoint.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

using vswitch::Endpoint;

TEST(Endpoint, ParsesIpv4AndIpv6WithAndWithoutPort) {
  auto a = Endpoint::parse_numeric("198.18.0.1:9797", 1);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->port(), 9797);
  EXPECT_EQ(a->to_string(), "198.18.0.1:9797");
  auto b = Endpoint::parse_numeric("198.18.0.1", 9797);
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
  auto c = Endpoint::parse_numeric("[2001:db8::1]:5000", 1);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->family(), AF_INET6);
  EXPECT_EQ(c->to_string(), "[2001:db8::1]:5000");
  auto d = Endpoint::parse_numeric("::", 9797);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->port(), 9797);
}

TEST(Endpoint, RejectsBadInput) {
  EXPECT_FALSE(Endpoint::parse_numeric("198.18.0.1:0", 1));
  EXPECT_FALSE(Endpoint::parse_numeric("198.18.0.1:70000", 1));
  EXPECT_FALSE(Endpoint::parse_numeric("198.18.0.1:x", 1));
  EXPECT_FALSE(Endpoint::parse_numeric("[2001:db8::1", 1));
  EXPECT_FALSE(Endpoint::parse_numeric("not-an-address:1", 1));
  std::string error;
  EXPECT_FALSE(Endpoint::resolve("no-such-host.invalid:9797", 1, error));
  EXPECT_NE(error.find("cannot resolve"), std::string::npos);
}

TEST(Endpoint, EqualityAndHashFollowAddressAndPort) {
  auto a = *Endpoint::parse_numeric("198.18.0.1:1", 1);
  auto b = *Endpoint::parse_numeric("198.18.0.1:2", 1);
  auto c = *Endpoint::parse_numeric("198.18.0.1:1", 1);
  EXPECT_FALSE(a == b);
  EXPECT_TRUE(a == c);
  EXPECT_EQ(a.hash(), c.hash());
}

// A dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d, AF_XDP and IPv4 sockets as
// a.b.c.d: both must be one endpoint, or a client's DATA (via XDP) would not match the
// session its handshake (via the kernel socket) made.
TEST(Endpoint, Ipv4MappedAddressesBecomePlainIpv4) {
  sockaddr_in6 mapped{};
  mapped.sin6_family = AF_INET6;
  mapped.sin6_port = htons(4000);
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:198.18.0.11", &mapped.sin6_addr), 1);
  const Endpoint from_v6 = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&mapped), sizeof mapped);
  const Endpoint plain = *Endpoint::parse_numeric("198.18.0.11:4000", 1);
  EXPECT_EQ(from_v6.family(), AF_INET);
  EXPECT_TRUE(from_v6 == plain);
  EXPECT_EQ(from_v6.hash(), plain.hash());
  EXPECT_EQ(from_v6.to_string(), "198.18.0.11:4000");
  // A real IPv6 address stays IPv6.
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::1", &mapped.sin6_addr), 1);
  EXPECT_EQ(Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&mapped), sizeof mapped).family(), AF_INET6);
}
