#include "vswitch/underlay_policy.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "vswitch/underlay_sources.h"

using namespace vswitch;

namespace {

Endpoint ep(const char* address) {
  auto e = Endpoint::parse_numeric(address, 40000);
  EXPECT_TRUE(e) << address;
  return e.value_or(Endpoint{});
}

UnderlayPolicy policy(std::initializer_list<const char*> allow, std::initializer_list<const char*> deny) {
  UnderlayPolicy p;
  for (const char* a : allow) EXPECT_TRUE(p.add(a, UnderlayVerdict::allow)) << a;
  for (const char* d : deny) EXPECT_TRUE(p.add(d, UnderlayVerdict::deny)) << d;
  return p;
}

std::string parse_error(const char* text) {
  auto r = UnderlayPolicy::parse_rule(text, UnderlayVerdict::deny);
  return r ? std::string("(accepted)") : r.error().message;
}

}  // namespace

TEST(UnderlayPolicy, ParsesPrefixesAndBareAddresses) {
  auto v4 = UnderlayPolicy::parse_rule("198.18.0.0/15", UnderlayVerdict::allow);
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->ipv4());
  EXPECT_EQ(v4->prefix_len, 96 + 15);  // the trie's form: ::ffff:198.18.0.0/111
  EXPECT_EQ(v4->prefix_text(), "198.18.0.0/15");
  EXPECT_EQ(v4->verdict, UnderlayVerdict::allow);
  auto v6 = UnderlayPolicy::parse_rule("2001:db8::/32", UnderlayVerdict::deny);
  ASSERT_TRUE(v6);
  EXPECT_FALSE(v6->ipv4());
  EXPECT_EQ(v6->prefix_len, 32);
  EXPECT_EQ(v6->prefix_text(), "2001:db8::/32");
  auto host4 = UnderlayPolicy::parse_rule("198.18.0.7", UnderlayVerdict::deny);
  ASSERT_TRUE(host4);
  EXPECT_EQ(host4->prefix_text(), "198.18.0.7/32");
  auto host6 = UnderlayPolicy::parse_rule("2001:db8::7", UnderlayVerdict::deny);
  ASSERT_TRUE(host6);
  EXPECT_EQ(host6->prefix_text(), "2001:db8::7/128");
  auto everything4 = UnderlayPolicy::parse_rule("0.0.0.0/0", UnderlayVerdict::deny);
  ASSERT_TRUE(everything4);
  EXPECT_TRUE(everything4->ipv4());
  EXPECT_EQ(everything4->prefix_len, 96);
  auto everything6 = UnderlayPolicy::parse_rule("::/0", UnderlayVerdict::deny);
  ASSERT_TRUE(everything6);
  EXPECT_FALSE(everything6->ipv4());
  EXPECT_EQ(everything6->prefix_len, 0);
}

TEST(UnderlayPolicy, RefusesBadPrefixesWithClearErrors) {
  for (const char* text : {"", "example.com", "198.18.0", " 198.18.0.0/16", "/16",
                           "198.18.0.0.0/8", "2001:db8:::/48"})
    EXPECT_NE(parse_error(text).find("not an IPv4 or IPv6 address"), std::string::npos) << text;
  for (const char* text : {"198.18.0.0/", "198.18.0.0/x", "198.18.0.0/-1", "198.18.0.0/+8", "2001:db8::/3 2",
                           "2001:db8::/32/1", "198.18.0.0/16 ", "198.18.0.0/99999999999999999999999"})
    EXPECT_NE(parse_error(text).find("must be a number"), std::string::npos) << text;
  EXPECT_NE(parse_error("198.18.0.0/33").find("at most 32 bits"), std::string::npos);
  EXPECT_NE(parse_error("2001:db8::/129").find("at most 128 bits"), std::string::npos);
  EXPECT_EQ(parse_error("198.18.0.1/16"),
            "bad underlay prefix '198.18.0.1/16': host bits are set past /16 (the network is 198.18.0.0/16)");
  EXPECT_NE(parse_error("2001:db8::1/32").find("the network is 2001:db8::/32"), std::string::npos);
  EXPECT_NE(parse_error("198.19.255.255/15").find("the network is 198.18.0.0/15"), std::string::npos);
  EXPECT_NE(parse_error("::ffff:198.18.0.0/112").find("IPv4-mapped"), std::string::npos);
  EXPECT_NE(parse_error("::ffff:198.18.0.1").find("IPv4-mapped"), std::string::npos);
  EXPECT_NE(parse_error("::ffff:0:0/96").find("IPv4-mapped"), std::string::npos);
  // Shorter prefixes over the mapped range are plain IPv6 rules (they never decide for IPv4).
  EXPECT_EQ(parse_error("::/64"), "(accepted)");
}

TEST(UnderlayPolicy, OnePrefixCannotBeBothAllowedAndDenied) {
  UnderlayPolicy p;
  ASSERT_TRUE(p.add("198.18.0.0/16", UnderlayVerdict::allow));
  EXPECT_TRUE(p.add("198.18.0.0/16", UnderlayVerdict::allow));  // repeating is harmless
  EXPECT_EQ(p.rules().size(), 1u);
  auto both = p.add("198.18.0.0/16", UnderlayVerdict::deny);
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().message, "underlay prefix 198.18.0.0/16 is both allowed and denied");
  EXPECT_TRUE(p.add("198.18.0.0/17", UnderlayVerdict::deny));  // another prefix
}

TEST(UnderlayPolicy, HoldsAtMost1024Rules) {
  UnderlayPolicy p;
  for (unsigned i = 0; i < UnderlayPolicy::kMaxRules; ++i) {
    const std::string prefix = "2001:db8:" + std::to_string(i) + "::/48";
    ASSERT_TRUE(p.add(prefix, UnderlayVerdict::deny)) << prefix;
  }
  EXPECT_TRUE(p.add("2001:db8:0::/48", UnderlayVerdict::deny));  // a repeat adds nothing
  auto one_more = p.add("198.18.0.0/16", UnderlayVerdict::deny);
  ASSERT_FALSE(one_more);
  EXPECT_NE(one_more.error().message.find("at most 1024"), std::string::npos);
  EXPECT_EQ(p.rules().size(), 1024u);
  EXPECT_LE(p.trie_entries().size(), std::size_t{VSWITCH_XDP_UNDERLAY_TRIE_SIZE});
}

TEST(UnderlayPolicy, WithoutRulesEveryPossibleSourceIsAdmitted) {
  const UnderlayPolicy p;
  EXPECT_EQ(p.default_verdict(), UnderlayVerdict::allow);
  for (const char* a : {"198.18.0.1", "1.0.0.0", "126.255.255.255", "128.0.0.1", "223.255.255.255", "2001:db8::1",
                        "fe80::1", "::2", "fe00::1"})
    EXPECT_EQ(p.judge(ep(a)), SourceJudgement::admitted) << a;
  EXPECT_TRUE(p.trie_entries().empty());
}

TEST(UnderlayPolicy, EveryImpossibleSourceIsRefusedWhateverTheRules) {
  for (const UnderlayPolicy& p : {UnderlayPolicy{}, policy({"0.0.0.0/0", "::/0", "127.0.0.0/8", "ff00::/8"}, {})}) {
    for (const char* a : {"0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.255.255", "224.0.0.1", "239.255.255.255",
                          "240.0.0.1", "255.255.255.254", "255.255.255.255", "::", "::1", "ff02::1", "ff0e::1",
                          "::ffff:127.0.0.1", "::ffff:224.0.0.1", "::ffff:255.255.255.255"})
      EXPECT_EQ(p.judge(ep(a)), SourceJudgement::impossible) << a;
    EXPECT_EQ(p.judge(Endpoint{}), SourceJudgement::impossible);
  }
  // ::ffff:0:0/96 on an IPv6 wire (what the XDP program and the AF_XDP parser see).
  in6_addr mapped{};
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:198.18.0.1", &mapped), 1);
  EXPECT_TRUE(vswitch_ipv6_source_is_impossible(mapped.s6_addr, nullptr));
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:1:0:0", &mapped), 1);  // next to it: not mapped
  EXPECT_FALSE(vswitch_ipv6_source_is_impossible(mapped.s6_addr, nullptr));
}

TEST(UnderlayPolicy, TheOwnAddressIsImpossibleWhenListeningOnOne) {
  UnderlayPolicy p;
  p.set_own_address(ep("198.18.0.1:9797"));
  EXPECT_EQ(p.judge(ep("198.18.0.1")), SourceJudgement::impossible);
  EXPECT_EQ(p.judge(ep("::ffff:198.18.0.1")), SourceJudgement::impossible);
  EXPECT_EQ(p.judge(ep("198.18.0.2")), SourceJudgement::admitted);
  p.set_own_address(ep("[2001:db8::1]:9797"));
  EXPECT_EQ(p.judge(ep("2001:db8::1")), SourceJudgement::impossible);
  EXPECT_EQ(p.judge(ep("2001:db8::2")), SourceJudgement::admitted);
  EXPECT_EQ(p.judge(ep("198.18.0.1")), SourceJudgement::admitted);  // replaced, not added
  p.set_own_address(ep("[::ffff:198.18.0.1]:9797"));  // an IPv4 address, written for an IPv6 socket
  EXPECT_EQ(p.judge(ep("198.18.0.1")), SourceJudgement::impossible);
  for (const char* any : {"0.0.0.0:9797", "[::]:9797"}) {
    p.set_own_address(ep(any));
    EXPECT_EQ(p.judge(ep("198.18.0.1")), SourceJudgement::admitted) << any;
    EXPECT_EQ(p.judge(ep("2001:db8::1")), SourceJudgement::admitted) << any;
  }
}

// Through a kernel socket, loopback and our own address are processes on this host (the kernel
// drops them from a wire as martians): a vport next to the server works. The operator's rules
// still apply; multicast and the like stay impossible.
TEST(UnderlayPolicy, LocalSourcesArePossibleThroughAKernelSocket) {
  constexpr auto kernel = UnderlayPolicy::Arrival::kernel_socket;
  UnderlayPolicy p;
  p.set_own_address(ep("198.18.0.1:9797"));
  EXPECT_EQ(p.judge(ep("127.0.0.1"), kernel), SourceJudgement::admitted);
  EXPECT_EQ(p.judge(ep("::ffff:127.0.0.1"), kernel), SourceJudgement::admitted);
  EXPECT_EQ(p.judge(ep("198.18.0.1"), kernel), SourceJudgement::admitted);
  EXPECT_EQ(p.judge(ep("::1"), kernel), SourceJudgement::admitted);
  EXPECT_EQ(p.judge(ep("224.0.0.1"), kernel), SourceJudgement::impossible);
  EXPECT_EQ(p.judge(ep("255.255.255.255"), kernel), SourceJudgement::impossible);
  EXPECT_EQ(p.judge(ep("0.0.0.1"), kernel), SourceJudgement::impossible);
  EXPECT_EQ(p.judge(ep("127.0.0.1")), SourceJudgement::impossible);  // on the wire: forged
  ASSERT_TRUE(p.add("198.18.0.0/16", UnderlayVerdict::allow));
  EXPECT_EQ(p.judge(ep("127.0.0.1"), kernel), SourceJudgement::denied);  // not on the allow list
}

TEST(UnderlayPolicy, DenyRulesAloneLeaveTheDefaultAllow) {
  const auto p = policy({}, {"198.18.0.0/16", "2001:db8:bad::/48"});
  EXPECT_EQ(p.default_verdict(), UnderlayVerdict::allow);
  EXPECT_EQ(p.judge(ep("198.18.200.1")), SourceJudgement::denied);
  EXPECT_EQ(p.judge(ep("198.19.0.1")), SourceJudgement::admitted);
  EXPECT_EQ(p.judge(ep("2001:db8:bad::1")), SourceJudgement::denied);
  EXPECT_EQ(p.judge(ep("2001:db8:900d::1")), SourceJudgement::admitted);
}

TEST(UnderlayPolicy, AnAllowRuleMakesTheDefaultDeny) {
  const auto p = policy({"198.18.0.0/24"}, {});
  EXPECT_EQ(p.default_verdict(), UnderlayVerdict::deny);
  EXPECT_TRUE(p.admits(ep("198.18.0.200")));
  EXPECT_EQ(p.judge(ep("198.18.1.1")), SourceJudgement::denied);
  EXPECT_EQ(p.judge(ep("2001:db8::1")), SourceJudgement::denied);  // IPv6 too: nothing allows it
}

TEST(UnderlayPolicy, TheLongestMatchingPrefixWins) {
  // A denied island in an allowed range, and an allowed host in the denied island.
  const auto p = policy({"198.18.0.0/15", "198.18.7.7"}, {"198.18.7.0/24"});
  EXPECT_TRUE(p.admits(ep("198.19.1.1")));
  EXPECT_EQ(p.judge(ep("198.18.7.8")), SourceJudgement::denied);
  EXPECT_TRUE(p.admits(ep("198.18.7.7")));
  EXPECT_EQ(p.judge(ep("198.20.0.1")), SourceJudgement::denied);  // no match: default deny
  // The order rules are given in does not matter.
  const auto reversed = policy({"198.18.7.7", "198.18.0.0/15"}, {"198.18.7.0/24"});
  for (const char* a : {"198.19.1.1", "198.18.7.8", "198.18.7.7", "198.20.0.1"})
    EXPECT_EQ(reversed.judge(ep(a)), p.judge(ep(a))) << a;
  EXPECT_EQ(p.rules().front().prefix_text(), "198.18.7.7/32");  // longest first
  // IPv6 alike.
  const auto v6 = policy({"2001:db8::/32"}, {"2001:db8:bad::/48"});
  EXPECT_TRUE(v6.admits(ep("2001:db8:1::1")));
  EXPECT_EQ(v6.judge(ep("2001:db8:bad::1")), SourceJudgement::denied);
  EXPECT_EQ(v6.judge(ep("2001:db9::1")), SourceJudgement::denied);
}

TEST(UnderlayPolicy, Ipv4AndIpv6RulesDecideForTheirOwnFamilyOnly) {
  // ::/0 covers ::ffff:0:0/96 where the trie keeps IPv4, yet it is an IPv6 rule.
  const auto only_v6 = policy({"::/0"}, {});
  EXPECT_TRUE(only_v6.admits(ep("2001:db8::1")));
  EXPECT_EQ(only_v6.judge(ep("198.18.0.1")), SourceJudgement::denied);
  const auto no_v6 = policy({}, {"::/0"});
  EXPECT_EQ(no_v6.judge(ep("2001:db8::1")), SourceJudgement::denied);
  EXPECT_TRUE(no_v6.admits(ep("198.18.0.1")));
  const auto only_v4 = policy({"0.0.0.0/0"}, {});
  EXPECT_TRUE(only_v4.admits(ep("198.18.0.1")));
  EXPECT_EQ(only_v4.judge(ep("2001:db8::1")), SourceJudgement::denied);
  // An IPv6 address whose low 32 bits look like an allowed IPv4 address is not that address.
  const auto v4_rule = policy({"198.18.0.1"}, {});
  EXPECT_EQ(v4_rule.judge(ep("::198.18.0.1")), SourceJudgement::denied);
  EXPECT_EQ(v4_rule.judge(ep("64:ff9b::198.18.0.1")), SourceJudgement::denied);
}

TEST(UnderlayPolicy, MappedEndpointsAreJudgedAsIpv4) {
  const auto p = policy({"198.18.0.0/16"}, {"198.18.9.0/24"});
  const Endpoint mapped = ep("::ffff:198.18.0.1");  // kept mapped, as a dual-stack socket reports it
  ASSERT_EQ(mapped.family(), AF_INET6);
  EXPECT_TRUE(p.admits(mapped));
  EXPECT_EQ(p.judge(ep("::ffff:198.18.9.1")), SourceJudgement::denied);
  EXPECT_EQ(p.judge(ep("::ffff:198.19.0.1")), SourceJudgement::denied);
  EXPECT_EQ(p.judge(ep("::ffff:127.0.0.1")), SourceJudgement::impossible);
  const auto only_v6 = policy({"::/0"}, {});
  EXPECT_EQ(only_v6.judge(mapped), SourceJudgement::denied);
}

TEST(UnderlayPolicy, TrieEntriesAreTheRulesPlusTheIpv4Boundary) {
  const auto p = policy({"2001:db8::/32"}, {"::/0", "198.18.7.0/24"});
  const auto entries = p.trie_entries();
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_TRUE(std::equal(p.rules().begin(), p.rules().end(), entries.begin()));
  // ::ffff:0:0/96 with the default verdict: IPv4 that no IPv4 rule matches ends there, not at ::/0.
  EXPECT_EQ(entries.back().prefix_text(), "0.0.0.0/0");
  EXPECT_EQ(entries.back().prefix_len, 96);
  EXPECT_EQ(entries.back().verdict, UnderlayVerdict::deny);
  EXPECT_EQ(policy({}, {"::/0"}).trie_entries().back().verdict, UnderlayVerdict::allow);
  // An IPv4 /0 rule already sits at the boundary.
  const auto with_v4_default = policy({}, {"0.0.0.0/0", "::/0"});
  EXPECT_EQ(with_v4_default.trie_entries(), with_v4_default.rules());
}
