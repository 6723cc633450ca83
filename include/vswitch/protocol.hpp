// Wire protocol v1: the messages between vport (client) and vswitch (server), one per UDP
// datagram, without authentication (--insecure; protocol_v2.hpp is the secure version).
// docs/protocol.md has the byte diagrams and the reasoning; this file is the codec.
//
// Every message opens with the same 4-byte prefix (version, type, flags, reserved), so a
// receiver classifies a datagram from its first bytes and its length. DATA and KEEPALIVE share
// one fixed 16-byte header (prefix, receiver index, counter); the authenticated mode of a later
// version keeps that header as associated data and appends a tag, so nothing in it moves.
// All integers are big-endian. Decoding never trusts a length: every field is bounds-checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "vswitch/wire_abi.h"

namespace vswitch::protocol {

inline constexpr std::uint8_t kVersion = VSWITCH_WIRE_V1;
inline constexpr std::uint16_t kDefaultPort = 9797;

enum class MessageType : std::uint8_t {
  hello = VSWITCH_V1_HELLO,          // client -> server: join a network (with the token: proven)
  welcome = VSWITCH_V1_WELCOME,      // server -> client: joined; session index and MTU
  keepalive = VSWITCH_V1_KEEPALIVE,  // both ways: liveness, keeps NAT mappings open
  data = VSWITCH_V1_DATA,            // both ways: one Ethernet frame
  bye = VSWITCH_V1_BYE,              // both ways: leaving, or "I do not know this session"
  challenge = VSWITCH_V1_CHALLENGE,  // server -> client: repeat the HELLO with this token
};

// Flag bits. v1 defines none; a set bit is rejected so that a v1 receiver never mistakes an
// authenticated message of a later mode for plaintext.
inline constexpr std::uint8_t kKnownFlags = 0x00;

inline constexpr std::size_t kPrefixSize = 4;
inline constexpr std::size_t kHelloSize = 32;
inline constexpr std::size_t kWelcomeSize = 24;
inline constexpr std::size_t kChallengeSize = 16;
inline constexpr std::size_t kTokenSize = 8;
inline constexpr std::size_t kDataHeaderSize = VSWITCH_DATA_HEADER_SIZE;
inline constexpr std::size_t kKeepaliveSize = kDataHeaderSize;
inline constexpr std::size_t kByeSize = 12;
// Reserved now for the authentication tag of the encrypted mode, so MTUs do not change then.
inline constexpr std::size_t kReservedTagSize = 16;
inline constexpr std::size_t kEthernetHeaderSize = 14;
inline constexpr std::size_t kVlanTagSize = 4;
inline constexpr std::size_t kUdpHeaderSize = 8;
inline constexpr std::size_t kIpv4HeaderSize = 20;
inline constexpr std::size_t kIpv6HeaderSize = 40;
inline constexpr std::uint16_t kMinMtu = 576;
inline constexpr std::uint16_t kMaxMtu = 9000;

// Largest Ethernet frame (header, one 802.1Q tag, payload) for an interface MTU.
constexpr std::size_t max_frame_size(std::uint16_t mtu) {
  return kEthernetHeaderSize + kVlanTagSize + mtu;
}
// TAP MTU at which the largest frame, tunnelled, fills exactly one underlay packet.
constexpr std::uint16_t tunnel_mtu(std::size_t underlay_mtu, bool ipv6_underlay) {
  const std::size_t overhead = (ipv6_underlay ? kIpv6HeaderSize : kIpv4HeaderSize) +
                               kUdpHeaderSize + kDataHeaderSize + kReservedTagSize +
                               kEthernetHeaderSize + kVlanTagSize;
  return static_cast<std::uint16_t>(underlay_mtu - overhead);
}

enum class ByeReason : std::uint8_t {
  leaving = 0,          // the sender shuts down
  unknown_session = 1,  // the receiver index names no session here: join again
  timed_out = 2,
  // Version mismatches, so that neither side waits in silence: a secure server answers a v1
  // HELLO with the first, an insecure server answers a v2 initiation with the second. Both are
  // unauthenticated hints: a client only logs them.
  authentication_required = 3,
  insecure_only = 4,
};
std::string_view to_string(ByeReason reason);

struct Hello {
  std::uint32_t sender_index;  // the client's index: the server's messages carry it
  std::uint64_t network_id;
  std::uint16_t mtu;  // the MTU the client asks for
  std::uint64_t token = 0;  // 0 at first; then the one from the server's CHALLENGE
};

// The server's answer to a HELLO without a valid token: a value only a receiver at the HELLO's
// source address learns. No state is kept; the token is a MAC of the HELLO and its source.
struct Challenge {
  std::uint32_t receiver_index;  // the HELLO's sender index
  std::uint64_t token;
};

struct Welcome {
  std::uint32_t receiver_index;  // the client's index, echoed
  std::uint32_t sender_index;    // the server's index for this port: DATA to the server carries it
  std::uint64_t network_id;
  std::uint16_t mtu;  // the MTU granted: min(asked, server limit)
};

struct DataHeader {
  std::uint32_t receiver_index;
  std::uint64_t counter;  // per direction, +1 per message; the future AEAD nonce
};

struct Bye {
  // The receiver's index; for unknown_session, the index that named no session (the
  // sender cannot know the receiver's own index for a session it does not have).
  std::uint32_t receiver_index;
  ByeReason reason;
};

// Why a datagram was refused by the decoder.
enum class DecodeError : std::uint8_t {
  none,
  truncated,    // shorter than its type needs, or shorter than a prefix
  bad_version,  // version byte is not kVersion
  bad_type,     // unknown message type
  bad_flags,    // a flag bit v1 does not know
  bad_length,   // longer than its fixed-size type allows
  bad_field,    // reserved bytes not zero, MTU out of range, unknown reason
};
std::string_view to_string(DecodeError error);

// Classifies a datagram by its prefix and checks that its length fits the type. DATA must
// carry at least an Ethernet header; KEEPALIVE is exactly a DATA header.
DecodeError check_prefix(std::span<const std::uint8_t> msg, MessageType& type) noexcept;

DecodeError decode(std::span<const std::uint8_t> msg, Hello& out) noexcept;
DecodeError decode(std::span<const std::uint8_t> msg, Welcome& out) noexcept;
DecodeError decode(std::span<const std::uint8_t> msg, DataHeader& out) noexcept;  // data, keepalive
DecodeError decode(std::span<const std::uint8_t> msg, Bye& out) noexcept;
DecodeError decode(std::span<const std::uint8_t> msg, Challenge& out) noexcept;

// Encoders write exactly the message size into `out` (which must be large enough) and return
// the number of bytes written.
std::size_t encode(const Hello& m, std::span<std::uint8_t> out) noexcept;
std::size_t encode(const Welcome& m, std::span<std::uint8_t> out) noexcept;
std::size_t encode(const Bye& m, std::span<std::uint8_t> out) noexcept;
std::size_t encode(const Challenge& m, std::span<std::uint8_t> out) noexcept;
std::size_t encode_data_header(const DataHeader& m, std::span<std::uint8_t> out) noexcept;
std::size_t encode_keepalive(const DataHeader& m, std::span<std::uint8_t> out) noexcept;

// The Ethernet frame behind a DATA header.
inline std::span<const std::uint8_t> data_frame(std::span<const std::uint8_t> msg) noexcept {
  return msg.subspan(kDataHeaderSize);
}

}  // namespace vswitch::protocol
