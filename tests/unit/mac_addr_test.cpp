#include "vswitch/mac_addr.hpp"

#include <gtest/gtest.h>

using vswitch::MacAddr;

TEST(MacAddr, ParseAndFormat) {
  const auto m = MacAddr::parse("02:AA:bb:0c:dd:ef");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "02:aa:bb:0c:dd:ef");
  EXPECT_EQ(MacAddr::from_u64(m->to_u64()), *m);
  EXPECT_TRUE(MacAddr::parse("02-aa-bb-0c-dd-ef"));
  EXPECT_FALSE(MacAddr::parse("02:aa:bb:0c:dd"));
  EXPECT_FALSE(MacAddr::parse("02:aa:bb:0c:dd:eg"));
  EXPECT_FALSE(MacAddr::parse("02:aa:bb:0c:dd:ef:"));
}

TEST(MacAddr, Classification) {
  EXPECT_TRUE(MacAddr::parse("ff:ff:ff:ff:ff:ff")->is_broadcast());
  EXPECT_TRUE(MacAddr::parse("ff:ff:ff:ff:ff:ff")->is_multicast());
  EXPECT_TRUE(MacAddr::parse("33:33:00:00:00:01")->is_multicast());
  EXPECT_TRUE(MacAddr::parse("01:00:5e:00:00:fb")->is_multicast());
  EXPECT_FALSE(MacAddr::parse("02:00:00:00:00:01")->is_multicast());
  EXPECT_FALSE(MacAddr().is_valid_source());
  EXPECT_FALSE(MacAddr::parse("01:00:5e:00:00:fb")->is_valid_source());
  EXPECT_TRUE(MacAddr::parse("02:00:00:00:00:01")->is_valid_source());
}
