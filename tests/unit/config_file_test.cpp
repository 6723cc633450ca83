// The config file scan: keys with their lines, comments and blanks skipped, and every malformed
// or unknown line reported with its number.
#include "vswitch/config_file.hpp"

#include <gtest/gtest.h>

using namespace vswitch;

namespace {
bool known(std::string_view k) { return k == "listen" || k == "fdb-max" || k == "insecure" || k == "allow-underlay"; }
}  // namespace

TEST(ConfigFile, KeysCommentsAndBlanks) {
  const auto s = scan_config("# a comment\n\nlisten = 198.18.0.1:9797\n  ; another\nfdb-max=4096 # trailing\n"
                             "insecure\nallow-underlay = 198.18.0.0/16\nallow-underlay = 198.19.0.0/16",
                             known);
  ASSERT_TRUE(s.error.empty()) << s.error;
  ASSERT_EQ(s.keys.size(), 5u);
  EXPECT_EQ(s.keys[0].key, "listen");
  EXPECT_EQ(s.keys[0].line, 3u);
  EXPECT_EQ(s.keys[1].key, "fdb-max");
  EXPECT_EQ(s.keys[1].line, 5u);
  EXPECT_EQ(s.keys[2].key, "insecure");  // a bare flag
  EXPECT_EQ(line_of(s, "allow-underlay"), 7u);
  EXPECT_EQ(line_of(s, "absent"), 0u);
}

TEST(ConfigFile, EmptyFileHasNoKeys) {
  EXPECT_TRUE(scan_config("", known).keys.empty());
  EXPECT_TRUE(scan_config("\n\n# only comments\n", known).error.empty());
}

TEST(ConfigFile, ErrorsNameTheLine) {
  struct Case {
    const char* text;
    std::size_t line;
    const char* says;
  };
  for (const Case& c : {Case{"listen = x\nbogus = 1\n", 2, "unknown key 'bogus'"},
                        Case{"[server]\nlisten = x\n", 1, "sections are not used"},
                        Case{"listen = x\n\nfdb-max =\n", 3, "has no value"},
                        Case{"= 5\n", 1, "expected 'key = value'"},
                        Case{"--listen = x\n", 1, "expected 'key = value'"},
                        Case{"Listen = x\n", 1, "expected 'key = value'"},
                        Case{"config = other.conf\n", 1, "unknown key 'config'"},
                        Case{"help\n", 1, "unknown key 'help'"}}) {
    const auto s = scan_config(c.text, known);
    EXPECT_EQ(s.error_line, c.line) << c.text;
    EXPECT_NE(s.error.find(c.says), std::string::npos) << c.text << " -> " << s.error;
  }
}
