// The underlay packet around a tunnel message, for datapaths that see whole Ethernet frames
// (AF_XDP): parse Ethernet [+ one VLAN tag] / IPv4 or IPv6 / UDP, and write those headers for
// an egress port. Pure functions over byte spans: no I/O, unit-tested directly.
//
// A port's UnderlayRoute is learned from its own packets: answering it means swapping the MACs,
// addresses and ports of what it sent, keeping its VLAN tag. No ARP or routing lookup is needed,
// which is also how the switch follows a client that roams behind NAT.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "vswitch/endpoint.hpp"

namespace vswitch::underlay {

inline constexpr std::size_t kMaxL2Size = 18;  // Ethernet + one 802.1Q tag
inline constexpr std::size_t kMaxHeaderSize = kMaxL2Size + 40 + 8;

struct Packet {
  std::size_t l2_size = 0;       // Ethernet header, tag included
  std::size_t header_size = 0;   // l2 + IP + UDP: where the tunnel message starts
  std::size_t payload_size = 0;  // the tunnel message (UDP payload)
  bool ipv6 = false;
};

// How to reach one port on the wire: the headers of its packets, mirrored.
struct UnderlayRoute {
  std::array<std::uint8_t, kMaxL2Size> l2{};  // dst = the port's next hop, src = us, [tag], type
  std::uint8_t l2_size = 0;
  bool ipv6 = false;
  std::array<std::uint8_t, 16> local_addr{};   // IPv4 in the first 4 bytes
  std::array<std::uint8_t, 16> remote_addr{};
  std::uint16_t local_port = 0;   // network byte order, as on the wire
  std::uint16_t remote_port = 0;

  std::size_t header_size() const noexcept { return l2_size + (ipv6 ? 40u : 20u) + 8u; }
  friend bool operator==(const UnderlayRoute&, const UnderlayRoute&) = default;
};

enum class ParseError : std::uint8_t { none, truncated, not_ip, not_udp, fragment, bad_checksum, bad_length, bad_source };

// Validates an Ethernet frame carrying IPv4/IPv6 + UDP (lengths, IPv4 header checksum, no
// fragments) and locates the UDP payload. IPv6 extension headers are refused (not_udp). A
// well-formed packet from an impossible source (vswitch/underlay_sources.h: loopback, multicast,
// ...) is bad_source: the XDP program drops those already, this is the second line.
ParseError parse(std::span<const std::uint8_t> frame, Packet& out) noexcept;

// The route that answers the sender of a parsed packet.
UnderlayRoute reply_route(std::span<const std::uint8_t> frame, const Packet& packet) noexcept;
// The sender of a parsed packet as a socket endpoint (what the switch core keys ports by).
Endpoint source_endpoint(std::span<const std::uint8_t> frame, const Packet& packet) noexcept;

// Writes route.header_size() bytes of Ethernet/IP/UDP headers in front of a payload of
// `payload_size` bytes that already sits right behind them in `packet`. For IPv6 the UDP
// checksum (mandatory there) covers the payload, so the payload must be final; for IPv4 it is
// 0 (permitted, and the tunnel message carries its own integrity later). The sender's checksum
// is not carried over incrementally: from a local sender on veth its field is still the
// unfinished CHECKSUM_PARTIAL value (probed with tcpdump on the receiving veth).
void write_headers(const UnderlayRoute& route, std::span<std::uint8_t> packet,
                   std::size_t payload_size) noexcept;

}  // namespace vswitch::underlay
