#include "vswitch/members.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "vswitch/key_file.hpp"
#include "vswitch/mac_addr.hpp"
#include "vswitch/network_id.hpp"

using namespace vswitch;

namespace {

// RFC 7748 §6.1 public keys of Alice and Bob, and one more.
constexpr std::string_view kAlice = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";
constexpr std::string_view kBob = "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=";
constexpr std::string_view kCarol = "TFEqGQ7Aslwbi5Hx0m6Aj417wKNSoNOEV/a40eQC5EU=";

PublicKey key(std::string_view text) { return public_key_from_base64(text).value(); }

MacAddr mac(std::string_view text) { return MacAddr::parse(text).value(); }

// " mac=02:00:00:00:00:01 mac=02:00:00:00:00:02 ..." with `count` distinct pins.
std::string pins(std::size_t count) {
  std::string out;
  for (std::size_t i = 1; i <= count; ++i)
    out += " mac=" + MacAddr::from_u64(0x020000000000ULL + i).to_string();
  return out;
}

std::string error_of(std::string_view text) {
  auto r = parse_members(text, "members.conf");
  return r ? std::string("(accepted)") : r.error().message;
}

}  // namespace

TEST(Members, NetworkIds) {
  EXPECT_EQ(parse_network_id("0"), 0u);
  EXPECT_EQ(parse_network_id("42"), 42u);
  EXPECT_EQ(parse_network_id("0x2a"), 42u);
  EXPECT_EQ(parse_network_id("0X2A"), 42u);
  EXPECT_EQ(parse_network_id("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_network_id("0xffffffffffffffff"), UINT64_MAX);
  for (const char* bad : {"", "0x", "18446744073709551616", "0x10000000000000000", "-1", "+1", " 1", "1 ",
                          "12z", "2a", "0x0x1", "1e3"})
    EXPECT_FALSE(parse_network_id(bad)) << "'" << bad << "'";
  for (std::uint64_t id : {std::uint64_t{0}, std::uint64_t{7}, UINT64_MAX})
    EXPECT_EQ(parse_network_id(format_network_id(id)), id);
}

TEST(Members, ParsesCommentsBlankLinesAndTabs) {
  const std::string text = std::string("# members of the lab\n") +
                           "\n"
                           "   \t\n" +
                           std::string(kAlice) + " 42 alice\n" +           //
                           "\t" + std::string(kBob) + "\t0x2a\t# no name\n" +  //
                           std::string(kCarol) + "  7  carol@lab.example  # trailing comment\r\n" +
                           "  # indented comment\n" +                      //
                           std::string(kAlice) + " 7 alice.lab-2+x_y";   // no final newline
  auto r = parse_members(text, "members.conf");
  ASSERT_TRUE(r) << r.error().message;
  const std::vector<Member> want = {
      {key(kAlice), 42, "alice"},
      {key(kBob), 42, "3p7bfXt9"},  // default: the first 8 characters of the key
      {key(kCarol), 7, "carol@lab.example"},
      {key(kAlice), 7, "alice.lab-2+x_y"},  // the same key in a second network
  };
  EXPECT_EQ(*r, want);
  EXPECT_TRUE(parse_members("", "x").ok());
  EXPECT_TRUE(parse_members("# nothing\n\n", "x").ok());
}

TEST(Members, ErrorsNameTheLine) {
  const std::string a(kAlice);
  const std::string head = "# header\n\n";  // the bad line is line 3
  EXPECT_EQ(error_of(head + "xyz 1\n"), "members.conf:3: bad public key 'xyz' (need 44 base64 characters)");
  EXPECT_EQ(error_of(head + a.substr(0, 43) + "B 1\n"),
            "members.conf:3: bad public key '" + a.substr(0, 43) + "B' (need 44 base64 characters)");
  EXPECT_EQ(error_of(head + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 1\n"),
            "members.conf:3: refused low-order public key 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='");
  EXPECT_EQ(error_of(head + "4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA= 1 lo\n"),
            "members.conf:3: refused low-order public key '4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA='");
  EXPECT_EQ(error_of(head + a + "\n"), "members.conf:3: missing network id after the public key");
  EXPECT_EQ(error_of(head + a + " # 1\n"), "members.conf:3: missing network id after the public key");
  EXPECT_EQ(error_of(head + a + " 12z alice\n"),
            "members.conf:3: bad network id '12z' (decimal, or hex with 0x)");
  EXPECT_EQ(error_of(head + a + " -1\n"), "members.conf:3: bad network id '-1' (decimal, or hex with 0x)");
  EXPECT_EQ(error_of(head + a + " 1 al/ice\n"),
            "members.conf:3: bad name 'al/ice' (1 to 64 of A-Z a-z 0-9 . _ @ + -)");
  EXPECT_EQ(error_of(head + a + " 1 " + std::string(65, 'n') + "\n"),
            "members.conf:3: bad name '" + std::string(48, 'n') + "...' (1 to 64 of A-Z a-z 0-9 . _ @ + -)");
  EXPECT_TRUE(parse_members(a + " 1 " + std::string(64, 'n'), "x").ok());
  EXPECT_EQ(error_of(head + a + " 1 alice extra\n"), "members.conf:3: unexpected 'extra' after the name");
  EXPECT_EQ(error_of(head + a + " 1 alice extra more\n"), "members.conf:3: unexpected 'extra' after the name");
  // Control bytes are not echoed as they are.
  EXPECT_EQ(error_of(head + "\x1b[2Jx 1\n"),
            "members.conf:3: bad public key '?[2Jx' (need 44 base64 characters)");
  // The source name is the caller's.
  EXPECT_EQ(parse_members("bad", "/etc/vswitch/members.d/7").error().message,
            "/etc/vswitch/members.d/7:1: bad public key 'bad' (need 44 base64 characters)");
}

TEST(Members, DuplicatesAreRefused) {
  const std::string a(kAlice), b(kBob);
  // The same pair twice, even spelled differently (0x2a is 42) or under another name.
  EXPECT_EQ(error_of(a + " 42 alice\n" + b + " 42\n" + a + " 0x2a alice2\n"),
            "members.conf:3: duplicate member " + a + " in network 42 (first on line 1)");
  // The same key in two networks, and two keys in one network, are fine.
  EXPECT_TRUE(parse_members(a + " 42\n" + a + " 43\n" + b + " 42\n", "x").ok());
}

TEST(Members, FormatReadsBack) {
  const std::vector<Member> members = {
      {key(kAlice), 42, "alice"},
      {key(kBob), UINT64_MAX, "3p7bfXt9"},
      {key(kCarol), 0, "TFEqGQ7A"},  // default name
      {key(kCarol), 1, "TFEqGQ7"},   // not the default
  };
  std::string text;
  for (const auto& m : members) text += format_member(m) + "\n";
  EXPECT_EQ(format_member(members[0]), std::string(kAlice) + " 42 alice");
  EXPECT_EQ(format_member(members[2]), std::string(kCarol) + " 0");
  auto r = parse_members(text, "x");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, members);
}

TEST(MemberPins, ParsedAfterTheName) {
  const std::string a(kAlice);
  auto r = parse_members(a + " 42 alice mac=02:00:00:00:00:01\tmac=02-00-00-00-00-0A  # two pins\n", "x");
  ASSERT_TRUE(r) << r.error().message;
  const std::vector<Member> want = {
      {key(kAlice), 42, "alice", {mac("02:00:00:00:00:01"), mac("02:00:00:00:00:0a")}}};
  EXPECT_EQ(*r, want);
}

TEST(MemberPins, ParsedWithoutAName) {
  const std::string a(kAlice);
  auto r = parse_members(a + " 42 mac=02:00:00:00:00:01 mac=02:00:00:00:00:02\n", "x");
  ASSERT_TRUE(r) << r.error().message;
  const std::vector<Member> want = {
      {key(kAlice), 42, "hSDwCYkw", {mac("02:00:00:00:00:01"), mac("02:00:00:00:00:02")}}};  // default name
  EXPECT_EQ(*r, want);
}

TEST(MemberPins, BadMacText) {
  const std::string a(kAlice);
  for (const std::string bad : {"mac=", "mac=02:00:00:00:00", "mac=02:00:00:00:00:0g", "mac=02:00:00:00:00:001",
                                "mac=0200.0000.0001", "mac=02:00:00:00:00:01:"})
    EXPECT_EQ(error_of(a + " 42 alice " + bad + "\n"),
              "members.conf:1: bad MAC in '" + bad + "' (need mac=XX:XX:XX:XX:XX:XX, hex)");
  EXPECT_EQ(error_of(a + " 42 vlan=3\n"), "members.conf:1: unknown setting 'vlan=3' (only mac= is known)");
  EXPECT_EQ(error_of(a + " 42 MAC=02:00:00:00:00:01\n"),
            "members.conf:1: unknown setting 'MAC=02:00:00:00:00:01' (only mac= is known)");
  EXPECT_EQ(error_of(a + " 42 mac=02:00:00:00:00:01 alice\n"),
            "members.conf:1: unexpected 'alice' after the mac= pins (the name goes first)");
  EXPECT_EQ(error_of(a + " 42 alice bob mac=02:00:00:00:00:01\n"),
            "members.conf:1: unexpected 'bob' after the name");
}

TEST(MemberPins, GroupAndZeroMacsRefused) {
  const std::string a(kAlice);
  for (const std::string bad : {"mac=01:00:5e:00:00:01", "mac=33:33:00:00:00:01", "mac=ff:ff:ff:ff:ff:ff",
                                "mac=03:00:00:00:00:01", "mac=00:00:00:00:00:00"})
    EXPECT_EQ(error_of(a + " 42 " + bad + "\n"),
              "members.conf:1: refused pin '" + bad + "' (group and all-zero MACs are never a source)");
}

TEST(MemberPins, AtMost64PerLine) {
  const std::string a(kAlice);
  auto r = parse_members(a + " 42 alice" + pins(kMaxMemberMacs) + "\n", "x");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->at(0).macs.size(), kMaxMemberMacs);
  EXPECT_TRUE(parse_members(a + " 42" + pins(kMaxMemberMacs), "x").ok());
  EXPECT_EQ(error_of(a + " 42 alice" + pins(kMaxMemberMacs + 1) + "\n"),
            "members.conf:1: more than 64 mac= pins on one line");
  EXPECT_EQ(error_of(a + " 42" + pins(kMaxMemberMacs + 1) + "\n"),
            "members.conf:1: more than 64 mac= pins on one line");
  // A hostile line is cut off early, not split into a million fields.
  EXPECT_EQ(error_of(a + " 42" + pins(1000) + "\n"), "members.conf:1: more than 64 mac= pins on one line");
  EXPECT_EQ(error_of(a + " 42 alice" + pins(kMaxMemberMacs) + " extra\n"),
            "members.conf:1: unexpected 'extra' after the mac= pins (the name goes first)");
}

TEST(MemberPins, SameMacTwiceOnALineRefused) {
  const std::string a(kAlice);
  // Spelled differently, still the same address.
  EXPECT_EQ(error_of(a + " 42 alice mac=02:00:00:00:00:01 mac=02:00:00:00:00:02 mac=02-00-00-00-00-01\n"),
            "members.conf:1: duplicate pin mac=02:00:00:00:00:01 on this line");
}

TEST(MemberPins, SameMacForTwoKeysInOneNetworkRefused) {
  const std::string a(kAlice), b(kBob), c(kCarol);
  EXPECT_EQ(error_of("# lab\n" + a + " 42 alice mac=02:00:00:00:00:01\n" + c + " 42 carol\n" + b +
                     " 0x2a bob mac=02:00:00:00:00:02 mac=02:00:00:00:00:01\n"),
            "members.conf:4: mac=02:00:00:00:00:01 is pinned to two members of network 42 (first on line 2)");
}

TEST(MemberPins, SameMacInTwoNetworksAllowed) {
  const std::string a(kAlice), b(kBob);
  auto r = parse_members(a + " 42 mac=02:00:00:00:00:01\n" + b + " 43 mac=02:00:00:00:00:01\n" + a +
                             " 44 mac=02:00:00:00:00:01\n",
                         "x");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  for (const Member& m : *r) EXPECT_EQ(m.macs, std::vector<MacAddr>{mac("02:00:00:00:00:01")});
}

TEST(MemberPins, FormatReadsBack) {
  const std::vector<Member> members = {
      {key(kAlice), 42, "alice", {mac("02:00:00:00:00:01"), mac("0a:bb:cc:dd:ee:ff")}},
      {key(kBob), 42, "3p7bfXt9", {mac("02:00:00:00:00:02")}},  // default name: pins only
      {key(kCarol), 7, "carol", {}},
  };
  EXPECT_EQ(format_member(members[0]),
            std::string(kAlice) + " 42 alice mac=02:00:00:00:00:01 mac=0a:bb:cc:dd:ee:ff");
  EXPECT_EQ(format_member(members[1]), std::string(kBob) + " 42 mac=02:00:00:00:00:02");
  std::string text;
  for (const auto& m : members) text += format_member(m) + "\n";
  auto r = parse_members(text, "x");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, members);
}

TEST(MemberOwner, FirstEightKeyBytesLittleEndian) {
  PublicKey k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i + 1);
  EXPECT_EQ(member_owner(k), 0x0807060504030201ULL);
  // RFC 7748 Alice: 85 20 f0 09 89 30 a7 54 ...
  EXPECT_EQ(member_owner(key(kAlice)), 0x54a7308909f02085ULL);
  EXPECT_EQ(member_owner(PublicKey{}), 0u);
}

TEST(Members, DirectoryLookup) {
  const std::string a(kAlice), b(kBob);
  auto parsed = parse_members(a + " 42 alice\n" + b + " 42 bob\n" + a + " 7 alice-lab\n", "x");
  ASSERT_TRUE(parsed);
  const MemberDirectory dir(std::move(parsed).value());
  ASSERT_EQ(dir.members().size(), 3u);
  EXPECT_EQ(dir.members()[1].name, "bob");  // file order

  const Member* m = dir.find(key(kAlice), 7);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->name, "alice-lab");
  ASSERT_NE(dir.find(key(kAlice), 42), nullptr);
  EXPECT_EQ(dir.find(key(kAlice), 42)->name, "alice");
  EXPECT_EQ(dir.find(key(kBob), 42)->name, "bob");
  EXPECT_EQ(dir.find(key(kBob), 7), nullptr);  // a member, but not of this network
  EXPECT_EQ(dir.find(key(kCarol), 42), nullptr);
  EXPECT_TRUE(dir.has_key(key(kAlice)));
  EXPECT_TRUE(dir.has_key(key(kBob)));
  EXPECT_FALSE(dir.has_key(key(kCarol)));

  const MemberDirectory empty({});
  EXPECT_EQ(empty.find(key(kAlice), 42), nullptr);
  EXPECT_FALSE(empty.has_key(key(kAlice)));
  EXPECT_TRUE(empty.members().empty());
}

TEST(Members, DirectoryScales) {
  // Many keys in a few networks: every member is found, neighbours are not confused.
  std::vector<Member> members;
  for (int i = 0; i < 2000; ++i) {
    PublicKey k{};
    randombytes_buf(k.data(), k.size());
    members.push_back({k, static_cast<std::uint64_t>(i % 3), "m" + std::to_string(i)});
  }
  const MemberDirectory dir(members);
  for (const auto& m : members) {
    const Member* found = dir.find(m.key, m.network);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->name, m.name);
    EXPECT_EQ(dir.find(m.key, m.network + 3), nullptr);
    EXPECT_TRUE(dir.has_key(m.key));
  }
}

TEST(Members, LoadFileUsesThePathInErrors) {
  char tmpl[] = "/tmp/vswitch-members-test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/members.conf";
  const std::string text = std::string(kAlice) + " 1 alice\nnot-a-key 2\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);

  auto r = load_members_file(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, path + ":2: bad public key 'not-a-key' (need 44 base64 characters)");
  auto missing = load_members_file(std::string(tmpl) + "/none.conf");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("No such file"), std::string::npos) << missing.error().message;
  ::unlink(path.c_str());
  ::rmdir(tmpl);
}
