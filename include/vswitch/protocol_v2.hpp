// Wire protocol v2: authenticated, encrypted sessions (docs/protocol.md, "Version 2"). This
// file is the codec of the fixed layouts; handshake.hpp fills them with Noise, MACs and cookies.
//
// Every message opens with version 2 and a type. Handshake messages have fixed sizes; DATA and
// CONTROL share v1's 16-byte header (version, type, length, receiver index, counter), which is
// the AEAD's associated data, and end with a 16-byte tag. v2 puts the message length where v1
// has flags: a datapath that sees a UDP GSO train whole can tell one message from several by
// comparing it with the datagram's length. All integers are big-endian, as in v1.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "vswitch/byte_order.hpp"
#include "vswitch/protocol.hpp"
#include "vswitch/wire_abi.h"

namespace vswitch::protocol::v2 {

inline constexpr std::uint8_t kVersion = VSWITCH_WIRE_V2;

enum class MessageType : std::uint8_t {
  initiation = VSWITCH_V2_INITIATION,      // client -> server: Noise message 1
  response = VSWITCH_V2_RESPONSE,          // server -> client: Noise message 2
  cookie_reply = VSWITCH_V2_COOKIE_REPLY,  // server -> client: "prove your address first"
  data = VSWITCH_V2_DATA,                  // both: one Ethernet frame, or none (keepalive)
  control = VSWITCH_V2_CONTROL,            // both: ping, pong, bye (encrypted like DATA)
};

inline constexpr std::size_t kHeaderSize = VSWITCH_DATA_HEADER_SIZE;
inline constexpr std::size_t kTagSize = VSWITCH_TAG_SIZE;
inline constexpr std::size_t kOverhead = kHeaderSize + kTagSize;  // DATA bytes around a frame
inline constexpr std::size_t kMacSize = 16;
inline constexpr std::size_t kCookieSize = 16;
inline constexpr std::size_t kCookieNonceSize = 24;
inline constexpr std::size_t kTimestampSize = 12;  // TAI64N

// INITIATION (160): prefix | sender index | Noise message 1 (e, s, payload) | mac1 | mac2
namespace initiation {
inline constexpr std::size_t kSize = 160;
inline constexpr std::size_t kSender = 4;
inline constexpr std::size_t kNoise = 8;
inline constexpr std::size_t kPayloadSize = 24;  // timestamp 12 | network 8 | suites 1 | 0 | mtu 2
inline constexpr std::size_t kMac1 = 128;
inline constexpr std::size_t kMac2 = 144;
}  // namespace initiation

// RESPONSE (96): prefix | sender index | receiver index | Noise message 2 (e, payload) | mac1 | mac2
namespace response {
inline constexpr std::size_t kSize = 96;
inline constexpr std::size_t kSender = 4;
inline constexpr std::size_t kReceiver = 8;
inline constexpr std::size_t kNoise = 12;
inline constexpr std::size_t kPayloadSize = 4;  // suite 1 | 0 | mtu 2
inline constexpr std::size_t kMac1 = 64;
inline constexpr std::size_t kMac2 = 80;
}  // namespace response

// COOKIE REPLY (64): prefix | receiver index | nonce 24 | XChaCha20-Poly1305(cookie 16) 32
namespace cookie_reply {
inline constexpr std::size_t kSize = 64;
inline constexpr std::size_t kReceiver = 4;
inline constexpr std::size_t kNonce = 8;
inline constexpr std::size_t kSealed = 32;
}  // namespace cookie_reply

inline constexpr std::size_t kKeepaliveSize = kOverhead;  // DATA without a frame
// Largest DATA message: header, the largest frame at the largest MTU, tag.
inline constexpr std::size_t kMaxMessageSize = kHeaderSize + max_frame_size(kMaxMtu) + kTagSize;

struct InitiationPayload {
  std::array<std::uint8_t, kTimestampSize> timestamp{};  // TAI64N, must grow per client key
  std::uint64_t network = 0;
  std::uint8_t suites = 0;  // offered: bit set of suite_bit(CipherSuite)
  std::uint16_t mtu = 0;    // asked for
};
struct ResponsePayload {
  std::uint8_t suite = 0;  // chosen: a CipherSuite value
  std::uint16_t mtu = 0;   // granted
};

void encode(const InitiationPayload& p, std::span<std::uint8_t, initiation::kPayloadSize> out) noexcept;
DecodeError decode(std::span<const std::uint8_t, initiation::kPayloadSize> in, InitiationPayload& out) noexcept;
void encode(const ResponsePayload& p, std::span<std::uint8_t, response::kPayloadSize> out) noexcept;
DecodeError decode(std::span<const std::uint8_t, response::kPayloadSize> in, ResponsePayload& out) noexcept;

// Version, type and size. Handshake messages: exact sizes, bytes 2..3 zero. DATA and CONTROL:
// at least a keepalive, at most kMaxMessageSize, and bytes 2..3 equal to the datagram's length.
DecodeError classify(std::span<const std::uint8_t> msg, MessageType& type) noexcept;

void write_prefix(MessageType type, std::span<std::uint8_t> out) noexcept;

struct DataHeader {
  MessageType type = MessageType::data;
  std::uint32_t receiver_index = 0;
  std::uint64_t counter = 0;
};
// The header of a DATA/CONTROL message of `message_size` bytes in all (header, payload, tag).
inline void write_data_header(const DataHeader& h, std::size_t message_size, std::span<std::uint8_t> out) noexcept {
  out[0] = kVersion;
  out[1] = static_cast<std::uint8_t>(h.type);
  store_be16(out.subspan(VSWITCH_V2_LENGTH_OFFSET), static_cast<std::uint16_t>(message_size));
  store_be32(out.subspan(4), h.receiver_index);
  store_be64(out.subspan(8), h.counter);
}
// After classify(): the header fields (no checks beyond what classify did).
inline DataHeader read_data_header(std::span<const std::uint8_t> msg) noexcept {
  return {static_cast<MessageType>(msg[1]), load_be32(msg.subspan(4)), load_be64(msg.subspan(8))};
}

// CONTROL payloads (inside the encryption): an operation byte, then its fields.
enum class ControlOp : std::uint8_t { ping = 1, pong = 2, bye = 3 };
enum class ByeReason : std::uint8_t { shutdown = 0, revoked = 1, replaced = 2 };
inline constexpr std::size_t kPingSize = 12;  // op | 0 0 0 | sequence 8
inline constexpr std::size_t kByeSize = 4;    // op | reason | 0 0
struct Control {
  ControlOp op = ControlOp::ping;
  std::uint64_t sequence = 0;  // ping, pong: a pong echoes its ping's
  ByeReason reason = ByeReason::shutdown;
};
std::size_t encode(const Control& c, std::span<std::uint8_t> out) noexcept;  // returns size
DecodeError decode(std::span<const std::uint8_t> payload, Control& out) noexcept;
std::string_view to_string(ByeReason reason);

}  // namespace vswitch::protocol::v2
