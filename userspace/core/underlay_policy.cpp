#include "vswitch/underlay_policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "vswitch/underlay_sources.h"

namespace vswitch {
namespace {

constexpr std::size_t kMappedPrefixBits = 96;  // ::ffff:0:0/96, where IPv4 lives in the trie

std::array<std::uint8_t, 16> ipv4_mapped(std::uint32_t addr) {
  std::array<std::uint8_t, 16> a{};
  a[10] = 0xff;
  a[11] = 0xff;
  std::memcpy(&a[12], &addr, 4);
  return a;
}

bool is_ipv4_mapped(const std::uint8_t* a) {
  return std::all_of(a, a + 10, [](std::uint8_t b) { return b == 0; }) && a[10] == 0xff && a[11] == 0xff;
}

// `address` with every bit past `prefix_len` cleared.
std::array<std::uint8_t, 16> network_of(std::array<std::uint8_t, 16> address, std::size_t prefix_len) {
  for (std::size_t i = 0; i < 16; ++i) {
    const std::size_t kept = prefix_len > i * 8 ? std::min<std::size_t>(prefix_len - i * 8, 8) : 0;
    address[i] = static_cast<std::uint8_t>(address[i] & (0xff00u >> kept));
  }
  return address;
}

Error bad_prefix(std::string_view text, const std::string& why) {
  return Error{"bad underlay prefix '" + std::string(text) + "': " + why};
}

}  // namespace

bool UnderlayRule::ipv4() const noexcept {
  return prefix_len >= kMappedPrefixBits && is_ipv4_mapped(address.data());
}

bool UnderlayRule::matches(const std::array<std::uint8_t, 16>& source) const noexcept {
  return network_of(source, prefix_len) == address;
}

std::string UnderlayRule::prefix_text() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ipv4()) {
    inet_ntop(AF_INET, &address[12], buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(prefix_len - kMappedPrefixBits);
  }
  inet_ntop(AF_INET6, address.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix_len);
}

Result<UnderlayRule> UnderlayPolicy::parse_rule(std::string_view text, UnderlayVerdict verdict) {
  const auto slash = text.find('/');
  const std::string host(text.substr(0, slash));
  UnderlayRule rule;
  rule.verdict = verdict;
  std::size_t family_bits = 128;
  std::size_t offset = 0;  // IPv4 prefixes start after the 96 bits of ::ffff:0:0
  std::uint32_t v4 = 0;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    rule.address = ipv4_mapped(v4);
    family_bits = 32;
    offset = kMappedPrefixBits;
  } else if (inet_pton(AF_INET6, host.c_str(), rule.address.data()) != 1) {
    return bad_prefix(text, "not an IPv4 or IPv6 address (expected ADDR or ADDR/LEN)");
  }
  std::size_t len = family_bits;  // a bare address is one host
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
      return bad_prefix(text, "the prefix length after '/' must be a number");
    if (len > family_bits)
      return bad_prefix(text, std::string(family_bits == 32 ? "an IPv4" : "an IPv6") + " prefix has at most " +
                                  std::to_string(family_bits) + " bits");
  }
  rule.prefix_len = static_cast<std::uint8_t>(offset + len);
  if (const auto network = network_of(rule.address, rule.prefix_len); network != rule.address) {
    UnderlayRule meant = rule;
    meant.address = network;
    return bad_prefix(text, "host bits are set past /" + std::to_string(len) + " (the network is " +
                                meant.prefix_text() + ")");
  }
  // Such a rule would decide for IPv4 sources (keyed ::ffff:a.b.c.d) while reading as IPv6.
  if (family_bits == 128 && rule.ipv4())
    return bad_prefix(text, "an IPv4-mapped IPv6 prefix; write the IPv4 prefix instead (A.B.C.D/LEN)");
  return rule;
}

Status UnderlayPolicy::add(std::string_view text, UnderlayVerdict verdict) {
  auto parsed = parse_rule(text, verdict);
  if (!parsed) return parsed.error();
  const UnderlayRule& rule = *parsed;
  const auto same_prefix = std::find_if(rules_.begin(), rules_.end(), [&](const UnderlayRule& r) {
    return r.prefix_len == rule.prefix_len && r.address == rule.address;
  });
  if (same_prefix != rules_.end()) {
    if (same_prefix->verdict == verdict) return Ok{};
    return Error{"underlay prefix " + rule.prefix_text() + " is both allowed and denied"};
  }
  if (rules_.size() == kMaxRules)
    return Error{"too many underlay prefixes: at most " + std::to_string(kMaxRules) + " (at '" + std::string(text) + "')"};
  // Longest first, so that judge() can stop at the first match.
  const auto at = std::upper_bound(rules_.begin(), rules_.end(), rule, [](const UnderlayRule& a, const UnderlayRule& b) {
    return a.prefix_len > b.prefix_len;
  });
  rules_.insert(at, rule);
  if (verdict == UnderlayVerdict::allow) ++allow_rules_;
  return Ok{};
}

void UnderlayPolicy::set_own_address(const Endpoint& listen) noexcept {
  own_ipv4_ = 0;
  has_own_ipv6_ = false;
  if (listen.empty() || listen.is_any_address()) return;
  if (listen.family() == AF_INET) {
    own_ipv4_ = reinterpret_cast<const sockaddr_in*>(listen.sockaddr_ptr())->sin_addr.s_addr;
    return;
  }
  const auto& a = reinterpret_cast<const sockaddr_in6*>(listen.sockaddr_ptr())->sin6_addr;
  if (is_ipv4_mapped(a.s6_addr)) {  // [::ffff:a.b.c.d] listens for IPv4 senders
    std::memcpy(&own_ipv4_, &a.s6_addr[12], 4);
    return;
  }
  std::memcpy(own_ipv6_.data(), a.s6_addr, 16);
  has_own_ipv6_ = true;
}

bool UnderlayPolicy::is_local_ipv4(std::uint32_t address) const noexcept {
  return vswitch_ipv4_first_octet(address) == 127 || (own_ipv4_ != 0 && address == own_ipv4_);
}

bool UnderlayPolicy::is_local_ipv6(const std::array<std::uint8_t, 16>& address) const noexcept {
  static constexpr std::array<std::uint8_t, 16> kLoopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return address == kLoopback || (has_own_ipv6_ && address == own_ipv6_);
}

SourceJudgement UnderlayPolicy::judge(const Endpoint& source, Arrival arrival) const noexcept {
  std::array<std::uint8_t, 16> address{};  // the trie's form
  bool ipv4 = false;
  // Through a kernel socket, loopback and our own address can only be processes on this host:
  // the kernel refuses them from a wire as martian sources. Only on the wire are they forged.
  const bool local_is_possible = arrival == Arrival::kernel_socket;
  if (source.family() == AF_INET) {
    const std::uint32_t a = reinterpret_cast<const sockaddr_in*>(source.sockaddr_ptr())->sin_addr.s_addr;
    if (!(local_is_possible && is_local_ipv4(a)) && vswitch_ipv4_source_is_impossible(a, own_ipv4_))
      return SourceJudgement::impossible;
    address = ipv4_mapped(a);
    ipv4 = true;
  } else if (source.family() == AF_INET6) {
    std::memcpy(address.data(), reinterpret_cast<const sockaddr_in6*>(source.sockaddr_ptr())->sin6_addr.s6_addr, 16);
    // A dual-stack socket's IPv4 sender: judged as the IPv4 address it is.
    ipv4 = is_ipv4_mapped(address.data());
    std::uint32_t a = 0;
    std::memcpy(&a, &address[12], 4);
    const bool local = ipv4 ? is_local_ipv4(a) : is_local_ipv6(address);
    if (!(local_is_possible && local) &&
        (ipv4 ? vswitch_ipv4_source_is_impossible(a, own_ipv4_)
              : vswitch_ipv6_source_is_impossible(address.data(), has_own_ipv6_ ? own_ipv6_.data() : nullptr)))
      return SourceJudgement::impossible;
  } else {
    return SourceJudgement::impossible;  // no address at all
  }
  if (rules_.empty()) return SourceJudgement::admitted;
  UnderlayVerdict verdict = default_verdict();
  for (const UnderlayRule& r : rules_) {
    if (r.ipv4() == ipv4 && r.matches(address)) {
      verdict = r.verdict;
      break;
    }
  }
  return verdict == UnderlayVerdict::allow ? SourceJudgement::admitted : SourceJudgement::denied;
}

UnderlayVerdict UnderlayPolicy::default_verdict() const noexcept {
  return allow_rules_ != 0 ? UnderlayVerdict::deny : UnderlayVerdict::allow;
}

std::vector<UnderlayRule> UnderlayPolicy::trie_entries() const {
  std::vector<UnderlayRule> entries = rules_;
  if (entries.empty()) return entries;
  UnderlayRule boundary{ipv4_mapped(0), static_cast<std::uint8_t>(kMappedPrefixBits), default_verdict()};
  const bool taken = std::any_of(rules_.begin(), rules_.end(), [&](const UnderlayRule& r) {
    return r.prefix_len == boundary.prefix_len && r.address == boundary.address;
  });
  if (!taken) entries.push_back(boundary);
  return entries;
}

}  // namespace vswitch
