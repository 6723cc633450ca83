#include "vswitch/endpoint.hpp"

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
