// The members file: which public keys may join which network. The server reads it at start
// and on every reload, builds a MemberDirectory from it, and the handshake asks that directory
// whether the key a client proved it holds belongs to the network the client asked for.
//
//   # members.conf
//   TFEqGQ7Aslwbi5Hx0m6Aj417wKNSoNOEV/a40eQC5EU=  42      alice
//   I+gsUXQ8WGBV7MY1cAsjCe7HfD4y9OfMeEi499M+PRw=  0x2a    # bob; no name given: "I+gsUXQ8"
//   I+gsUXQ8WGBV7MY1cAsjCe7HfD4y9OfMeEi499M+PRw=  7       bob-lab  mac=02:00:00:00:00:07
//   3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=  7       mac=02:00:00:00:00:08  # pin, no name
//
// One member per line: a public key (base64, as `vswitchctl pubkey` prints), a network id
// (decimal or 0x-hex) and an optional name of 1 to 64 characters from [A-Za-z0-9._@+-]; without
// one, the name is the first 8 characters of the key. Up to 64 `mac=` pins may follow (a name
// never holds '=', so they need no name before them): MAC addresses that are this member's in
// that network. A pin must be a single station (not group, not all-zero), and no address may be
// pinned twice in one network, by one member or two: the switch could not tell whose it is.
// Fields are separated by spaces or tabs (a CR from a CRLF file counts as one), '#' starts a
// comment, blank lines are fine. A key may be a member of several networks, one line each.
// Nothing is taken on trust: a line that does not parse, a weak (low-order) key, the same key
// twice in one network or a pin that breaks the rules above rejects the whole file with a
// message naming the line, so a typo can never silently lock a member out or let an unintended
// key in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vswitch/keys.hpp"
#include "vswitch/mac_addr.hpp"
#include "vswitch/result.hpp"

namespace vswitch {

inline constexpr std::size_t kMaxMemberName = 64;
inline constexpr std::size_t kMaxMemberMacs = 64;  // mac= pins on one line

struct Member {
  PublicKey key{};
  std::uint64_t network = 0;
  std::string name;
  // Pinned MACs in file order. `{}` so that {key, network, name} stays a complete initializer.
  std::vector<MacAddr> macs{};

  friend bool operator==(const Member&, const Member&) = default;
};

// Members in file order. Errors read "<source_name>:<line>: <what is wrong>".
Result<std::vector<Member>> parse_members(std::string_view text, std::string_view source_name);

// One line (without '\n') that parse_members reads back to `member`; the name is left out
// when it is the default one, the mac= pins follow it.
std::string format_member(const Member& member);

// Who holds a port, as the switch records it: the key's first 8 bytes, little-endian.
std::uint64_t member_owner(const PublicKey& key) noexcept;

// Lookup built once per (re)load; read by the handshake thread. Immutable after construction,
// so readers need no lock as long as the directory outlives them (swap a shared_ptr on reload).
class MemberDirectory {
 public:
  explicit MemberDirectory(std::vector<Member> members);

  // nullptr if the key is not a member of that network.
  const Member* find(const PublicKey& key, std::uint64_t network) const noexcept;
  // A member of some network: the key is known, the network may be the wrong one.
  bool has_key(const PublicKey& key) const noexcept;
  // In the order given to the constructor.
  std::span<const Member> members() const noexcept { return members_; }

 private:
  std::vector<Member> members_;
  std::vector<std::uint32_t> by_key_;  // indices into members_, sorted by (key, network)
};

}  // namespace vswitch
