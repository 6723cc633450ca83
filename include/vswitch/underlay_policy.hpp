// Which underlay sources may talk to the server: never an impossible one (loopback, multicast,
// broadcast, our own address: vswitch/underlay_sources.h), and then the operator's allow/deny
// prefixes (--allow-underlay, --deny-underlay). Pure: no I/O. The socket datapath asks it about
// every datagram; the XDP program gets the same rules in its LPM trie (trie_entries()) and must
// decide exactly as admits() does.
//
// Semantics: the longest matching prefix decides; with no match the default is deny when any
// allow rule exists (an allow list), else allow. IPv4 and IPv6 rules apply to their own family
// only, and an IPv4 client seen through a dual-stack socket (::ffff:a.b.c.d) is IPv4.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vswitch/bpf_abi.h"
#include "vswitch/endpoint.hpp"
#include "vswitch/result.hpp"

namespace vswitch {

enum class UnderlayVerdict : std::uint8_t { allow = VSWITCH_UNDERLAY_ALLOW, deny = VSWITCH_UNDERLAY_DENY };

enum class SourceJudgement : std::uint8_t {
  admitted,
  impossible,  // no real sender has this address
  denied,      // the operator's list refuses it
};

// One prefix in the XDP trie's form: 128 bits, IPv4 as ::ffff:a.b.c.d/(96 + n).
struct UnderlayRule {
  std::array<std::uint8_t, 16> address{};
  std::uint8_t prefix_len = 0;
  UnderlayVerdict verdict = UnderlayVerdict::deny;

  bool ipv4() const noexcept;
  bool matches(const std::array<std::uint8_t, 16>& source) const noexcept;
  std::string prefix_text() const;  // "198.18.0.0/16", "2001:db8::/32"
  friend bool operator==(const UnderlayRule&, const UnderlayRule&) = default;
};

class UnderlayPolicy {
 public:
  static constexpr std::size_t kMaxRules = VSWITCH_XDP_MAX_UNDERLAY_RULES;

  // No rules and no own address: admits every possible source.
  UnderlayPolicy() = default;

  // "198.18.0.0/16", "2001:db8::/32", or a bare address (/32, /128). Refuses bad text, a length
  // beyond the family's bits, host bits set, IPv4-mapped IPv6 prefixes (write them as IPv4),
  // one prefix both allowed and denied, and more than kMaxRules rules. Repeating a rule is
  // harmless.
  static Result<UnderlayRule> parse_rule(std::string_view text, UnderlayVerdict verdict);
  Status add(std::string_view text, UnderlayVerdict verdict);

  // The server's listen address: a specific one becomes an impossible source (a packet from it
  // on the wire is forged). The any-address is no address and changes nothing.
  void set_own_address(const Endpoint& listen) noexcept;

  // How a datagram reached us: straight off the wire (XDP, AF_XDP), or through a kernel socket,
  // where the kernel has already refused loopback and our own address from a wire (martian
  // sources), so those are local processes (a vport on the server's host) and possible.
  enum class Arrival : std::uint8_t { wire, kernel_socket };
  SourceJudgement judge(const Endpoint& source, Arrival arrival = Arrival::wire) const noexcept;
  bool admits(const Endpoint& source, Arrival arrival = Arrival::wire) const noexcept {
    return judge(source, arrival) == SourceJudgement::admitted;
  }

  // The operator's rules, longest prefix first.
  const std::vector<UnderlayRule>& rules() const noexcept { return rules_; }
  UnderlayVerdict default_verdict() const noexcept;
  // What the XDP trie must hold to decide like judge(): the rules and, unless an IPv4 /0 rule
  // sits there already, ::ffff:0:0/96 with the default verdict, so that an IPv6 rule whose
  // prefix covers the IPv4-mapped range (::/0) never decides for IPv4. Empty without rules.
  std::vector<UnderlayRule> trie_entries() const;

 private:
  bool is_local_ipv4(std::uint32_t address) const noexcept;
  bool is_local_ipv6(const std::array<std::uint8_t, 16>& address) const noexcept;

  std::vector<UnderlayRule> rules_;  // longest prefix first
  std::size_t allow_rules_ = 0;
  std::uint32_t own_ipv4_ = 0;  // network order; 0 = none
  std::array<std::uint8_t, 16> own_ipv6_{};
  bool has_own_ipv6_ = false;
};

}  // namespace vswitch
