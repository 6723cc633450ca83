// Members file parser and the lookup the handshake uses; the format is in members.hpp.
#include "vswitch/members.hpp"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "vswitch/network_id.hpp"

namespace vswitch {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }  // '\r': CRLF files

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '@' || c == '+' || c == '-';
}

bool is_valid_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxMemberName && std::all_of(name.begin(), name.end(), is_name_char);
}

std::string default_name(const PublicKey& key) { return key_to_base64(key).substr(0, 8); }

// A field as it may appear in a message: bounded, and without bytes that would garble a
// terminal or a log line.
std::string quoted(std::string_view field) {
  constexpr std::size_t kShown = 48;
  std::string out = "'";
  for (const char c : field.substr(0, kShown)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (field.size() > kShown) out += "...";
  return out + "'";
}

// Key, network, name, the pins, and one more only to report it: a long line costs no more.
constexpr std::size_t kMaxFields = 2 + 1 + kMaxMemberMacs + 1;

// The fields of one line, comment removed; at most kMaxFields.
std::vector<std::string_view> split_fields(std::string_view line) {
  if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (fields.size() < kMaxFields) {
    while (i < line.size() && is_blank(line[i])) ++i;
    if (i == line.size()) break;
    const std::size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

constexpr std::string_view kPinPrefix = "mac=";

// A name never holds '=', so a field that does is a setting (only mac= so far), wherever it is.
bool is_setting(std::string_view field) { return field.find('=') != std::string_view::npos; }

std::string pin_text(const MacAddr& mac) { return std::string(kPinPrefix) + mac.to_string(); }

// One mac= field, checked on its own (limits and duplicates are the line's business).
Result<MacAddr> parse_pin(std::string_view field) {
  if (!field.starts_with(kPinPrefix))
    return Error{"unknown setting " + quoted(field) + " (only mac= is known)"};
  const auto mac = MacAddr::parse(field.substr(kPinPrefix.size()));
  if (!mac) return Error{"bad MAC in " + quoted(field) + " (need mac=XX:XX:XX:XX:XX:XX, hex)"};
  if (!mac->is_valid_source())
    return Error{"refused pin " + quoted(field) + " (group and all-zero MACs are never a source)"};
  return *mac;
}

// One member from a non-empty field list, or what is wrong with it (without the location).
Result<Member> parse_fields(const std::vector<std::string_view>& f) {
  const auto key = public_key_from_base64(f[0]);
  if (!key) return Error{"bad public key " + quoted(f[0]) + " (need 44 base64 characters)"};
  if (is_weak_public_key(*key)) return Error{"refused low-order public key " + quoted(f[0])};
  if (f.size() < 2) return Error{"missing network id after the public key"};
  const auto network = parse_network_id(f[1]);
  if (!network) return Error{"bad network id " + quoted(f[1]) + " (decimal, or hex with 0x)"};
  Member member{*key, *network, default_name(*key)};
  std::size_t i = 2;
  if (i < f.size() && !is_setting(f[i])) {
    if (!is_valid_name(f[i])) return Error{"bad name " + quoted(f[i]) + " (1 to 64 of A-Z a-z 0-9 . _ @ + -)"};
    member.name = f[i++];
  }
  for (; i < f.size(); ++i) {
    if (!is_setting(f[i]))  // with no pins yet, a name came before it
      return Error{"unexpected " + quoted(f[i]) +
                   (member.macs.empty() ? " after the name" : " after the mac= pins (the name goes first)")};
    auto mac = parse_pin(f[i]);
    if (!mac) return mac.error();
    if (member.macs.size() == kMaxMemberMacs)
      return Error{"more than " + std::to_string(kMaxMemberMacs) + " mac= pins on one line"};
    if (std::find(member.macs.begin(), member.macs.end(), *mac) != member.macs.end())
      return Error{"duplicate pin " + pin_text(*mac) + " on this line"};
    member.macs.push_back(*mac);
  }
  return member;
}

}  // namespace

Result<std::vector<Member>> parse_members(std::string_view text, std::string_view source_name) {
  std::vector<Member> members;
  std::map<std::pair<PublicKey, std::uint64_t>, std::size_t> first_line;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::size_t> first_pin_line;  // (network, MAC)
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);

    const auto fields = split_fields(line);
    if (fields.empty()) continue;
    auto where = [&] { return std::string(source_name) + ":" + std::to_string(line_no) + ": "; };
    auto member = parse_fields(fields);
    if (!member) return Error{where() + member.error().message};
    const auto [it, fresh] = first_line.try_emplace({member->key, member->network}, line_no);
    if (!fresh)
      return Error{where() + "duplicate member " + key_to_base64(member->key) + " in network " +
                   format_network_id(member->network) + " (first on line " + std::to_string(it->second) + ")"};
    // The key is new to this network, so a pin seen before in it is another member's.
    for (const MacAddr& mac : member->macs) {
      const auto [pin, fresh_pin] = first_pin_line.try_emplace({member->network, mac.to_u64()}, line_no);
      if (!fresh_pin)
        return Error{where() + pin_text(mac) + " is pinned to two members of network " +
                     format_network_id(member->network) + " (first on line " + std::to_string(pin->second) +
                     ")"};
    }
    members.push_back(std::move(member).value());
  }
  return members;
}

std::string format_member(const Member& member) {
  std::string line = key_to_base64(member.key) + " " + format_network_id(member.network);
  if (member.name != default_name(member.key)) line += " " + member.name;
  for (const MacAddr& mac : member.macs) line += " " + pin_text(mac);
  return line;
}

std::uint64_t member_owner(const PublicKey& key) noexcept {
  std::uint64_t owner = 0;
  for (std::size_t i = 0; i < sizeof owner; ++i) owner |= std::uint64_t{key[i]} << (8 * i);
  return owner;
}

MemberDirectory::MemberDirectory(std::vector<Member> members) : members_(std::move(members)) {
  by_key_.resize(members_.size());
  for (std::size_t i = 0; i < by_key_.size(); ++i) by_key_[i] = static_cast<std::uint32_t>(i);
  // Stable: among duplicates (only possible without parse_members), the first one answers.
  std::stable_sort(by_key_.begin(), by_key_.end(), [this](std::uint32_t a, std::uint32_t b) {
    const Member& x = members_[a];
    const Member& y = members_[b];
    return std::tie(x.key, x.network) < std::tie(y.key, y.network);
  });
}

const Member* MemberDirectory::find(const PublicKey& key, std::uint64_t network) const noexcept {
  const auto it = std::lower_bound(by_key_.begin(), by_key_.end(), std::tie(key, network),
                                   [this](std::uint32_t i, const auto& wanted) {
                                     const Member& m = members_[i];
                                     return std::tie(m.key, m.network) < wanted;
                                   });
  if (it == by_key_.end()) return nullptr;
  const Member& m = members_[*it];
  return m.key == key && m.network == network ? &m : nullptr;
}

bool MemberDirectory::has_key(const PublicKey& key) const noexcept {
  const auto it = std::lower_bound(by_key_.begin(), by_key_.end(), key,
                                   [this](std::uint32_t i, const PublicKey& k) { return members_[i].key < k; });
  return it != by_key_.end() && members_[*it].key == key;
}

}  // namespace vswitch
