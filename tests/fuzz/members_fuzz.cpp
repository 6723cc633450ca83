// libFuzzer target for the members file parser: arbitrary text goes to parse_members. It must
// never crash, and what it accepts must survive a round trip: every member written back with
// format_member and parsed again gives the same list. A directory built from the list finds
// every member. Memory errors are caught by the sanitizers; the invariants below by abort().
#include <cstdlib>
#include <string>
#include <string_view>

#include "vswitch/members.hpp"

using namespace vswitch;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_members(text, "fuzz");
  if (!parsed) {
    check(parsed.error().message.starts_with("fuzz:"));
    return 0;
  }
  const auto& members = parsed.value();
  std::string written;
  for (const auto& m : members) {
    check(!m.name.empty() && m.name.size() <= kMaxMemberName);
    check(!is_weak_public_key(m.key));
    written += format_member(m) + "\n";
  }
  auto again = parse_members(written, "again");
  check(again.ok() && again.value() == members);

  const MemberDirectory dir(members);
  for (const auto& m : members) {
    const Member* found = dir.find(m.key, m.network);
    check(found != nullptr && *found == m);  // no duplicates, so this is the member
    check(dir.has_key(m.key));
  }
  return 0;
}
