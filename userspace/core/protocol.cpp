#include "vswitch/protocol.hpp"

#include "vswitch/byte_order.hpp"

namespace vswitch::protocol {
namespace {

void write_prefix(MessageType type, std::span<std::uint8_t> out) noexcept {
  out[0] = kVersion;
  out[1] = static_cast<std::uint8_t>(type);
  out[2] = 0;  // flags
  out[3] = 0;  // reserved
}

bool all_zero(std::span<const std::uint8_t> bytes) noexcept {
  for (auto b : bytes)
    if (b != 0) return false;
  return true;
}

// Expects the message to be exactly `size` bytes of type `type` (already checked by prefix).
DecodeError check_fixed(std::span<const std::uint8_t> msg, MessageType type,
                        std::size_t size) noexcept {
  MessageType got{};
  if (const auto e = check_prefix(msg, got); e != DecodeError::none) return e;
  if (got != type) return DecodeError::bad_type;
  if (msg.size() != size) return msg.size() < size ? DecodeError::truncated : DecodeError::bad_length;
  return DecodeError::none;
}

}  // namespace

std::string_view to_string(DecodeError error) {
  switch (error) {
    case DecodeError::none: return "none";
    case DecodeError::truncated: return "truncated";
    case DecodeError::bad_version: return "bad_version";
    case DecodeError::bad_type: return "bad_type";
    case DecodeError::bad_flags: return "bad_flags";
    case DecodeError::bad_length: return "bad_length";
    case DecodeError::bad_field: return "bad_field";
  }
  return "unknown";
}

DecodeError check_prefix(std::span<const std::uint8_t> msg, MessageType& type) noexcept {
  if (msg.size() < kPrefixSize) return DecodeError::truncated;
  if (msg[0] != kVersion) return DecodeError::bad_version;
  if ((msg[2] & ~kKnownFlags) != 0) return DecodeError::bad_flags;
  if (msg[3] != 0) return DecodeError::bad_field;
  std::size_t min_size = 0;
  std::size_t max_size = 0;
  switch (static_cast<MessageType>(msg[1])) {
    case MessageType::hello: min_size = max_size = kHelloSize; break;
    case MessageType::welcome: min_size = max_size = kWelcomeSize; break;
    case MessageType::keepalive: min_size = max_size = kKeepaliveSize; break;
    case MessageType::bye: min_size = max_size = kByeSize; break;
    case MessageType::challenge: min_size = max_size = kChallengeSize; break;
    case MessageType::data:
      min_size = kDataHeaderSize + kEthernetHeaderSize;
      max_size = kDataHeaderSize + max_frame_size(kMaxMtu);
      break;
    default: return DecodeError::bad_type;
  }
  if (msg.size() < min_size) return DecodeError::truncated;
  if (msg.size() > max_size) return DecodeError::bad_length;
  type = static_cast<MessageType>(msg[1]);
  return DecodeError::none;
}

DecodeError decode(std::span<const std::uint8_t> msg, Hello& out) noexcept {
  if (const auto e = check_fixed(msg, MessageType::hello, kHelloSize); e != DecodeError::none)
    return e;
  out.sender_index = load_be32(msg.subspan(4));
  out.network_id = load_be64(msg.subspan(8));
  out.mtu = load_be16(msg.subspan(16));
  out.token = load_be64(msg.subspan(24));
  if (out.mtu < kMinMtu || out.mtu > kMaxMtu || !all_zero(msg.subspan(18, 6)))
    return DecodeError::bad_field;
  return DecodeError::none;
}

DecodeError decode(std::span<const std::uint8_t> msg, Challenge& out) noexcept {
  if (const auto e = check_fixed(msg, MessageType::challenge, kChallengeSize); e != DecodeError::none) return e;
  out.receiver_index = load_be32(msg.subspan(4));
  out.token = load_be64(msg.subspan(8));
  return DecodeError::none;
}

DecodeError decode(std::span<const std::uint8_t> msg, Welcome& out) noexcept {
  if (const auto e = check_fixed(msg, MessageType::welcome, kWelcomeSize); e != DecodeError::none)
    return e;
  out.receiver_index = load_be32(msg.subspan(4));
  out.sender_index = load_be32(msg.subspan(8));
  out.network_id = load_be64(msg.subspan(12));
  out.mtu = load_be16(msg.subspan(20));
  if (out.mtu < kMinMtu || out.mtu > kMaxMtu || !all_zero(msg.subspan(22, 2)))
    return DecodeError::bad_field;
  return DecodeError::none;
}

DecodeError decode(std::span<const std::uint8_t> msg, DataHeader& out) noexcept {
  MessageType type{};
  if (const auto e = check_prefix(msg, type); e != DecodeError::none) return e;
  if (type != MessageType::data && type != MessageType::keepalive) return DecodeError::bad_type;
  out.receiver_index = load_be32(msg.subspan(4));
  out.counter = load_be64(msg.subspan(8));
  return DecodeError::none;
}

DecodeError decode(std::span<const std::uint8_t> msg, Bye& out) noexcept {
  if (const auto e = check_fixed(msg, MessageType::bye, kByeSize); e != DecodeError::none) return e;
  out.receiver_index = load_be32(msg.subspan(4));
  const std::uint8_t reason = msg[8];
  if (reason > static_cast<std::uint8_t>(ByeReason::insecure_only) || !all_zero(msg.subspan(9, 3)))
    return DecodeError::bad_field;
  out.reason = static_cast<ByeReason>(reason);
  return DecodeError::none;
}

std::size_t encode(const Hello& m, std::span<std::uint8_t> out) noexcept {
  write_prefix(MessageType::hello, out);
  store_be32(out.subspan(4), m.sender_index);
  store_be64(out.subspan(8), m.network_id);
  store_be16(out.subspan(16), m.mtu);
  for (std::size_t i = 18; i < 24; ++i) out[i] = 0;
  store_be64(out.subspan(24), m.token);
  return kHelloSize;
}

std::size_t encode(const Challenge& m, std::span<std::uint8_t> out) noexcept {
  write_prefix(MessageType::challenge, out);
  store_be32(out.subspan(4), m.receiver_index);
  store_be64(out.subspan(8), m.token);
  return kChallengeSize;
}

std::string_view to_string(ByeReason reason) {
  switch (reason) {
    case ByeReason::leaving: return "leaving";
    case ByeReason::unknown_session: return "unknown_session";
    case ByeReason::timed_out: return "timed_out";
    case ByeReason::authentication_required: return "authentication_required";
    case ByeReason::insecure_only: return "insecure_only";
  }
  return "unknown";
}

std::size_t encode(const Welcome& m, std::span<std::uint8_t> out) noexcept {
  write_prefix(MessageType::welcome, out);
  store_be32(out.subspan(4), m.receiver_index);
  store_be32(out.subspan(8), m.sender_index);
  store_be64(out.subspan(12), m.network_id);
  store_be16(out.subspan(20), m.mtu);
  out[22] = out[23] = 0;
  return kWelcomeSize;
}

std::size_t encode(const Bye& m, std::span<std::uint8_t> out) noexcept {
  write_prefix(MessageType::bye, out);
  store_be32(out.subspan(4), m.receiver_index);
  out[8] = static_cast<std::uint8_t>(m.reason);
  out[9] = out[10] = out[11] = 0;
  return kByeSize;
}

std::size_t encode_data_header(const DataHeader& m, std::span<std::uint8_t> out) noexcept {
  write_prefix(MessageType::data, out);
  store_be32(out.subspan(4), m.receiver_index);
  store_be64(out.subspan(8), m.counter);
  return kDataHeaderSize;
}

std::size_t encode_keepalive(const DataHeader& m, std::span<std::uint8_t> out) noexcept {
  encode_data_header(m, out);
  out[1] = static_cast<std::uint8_t>(MessageType::keepalive);
  return kKeepaliveSize;
}

}  // namespace vswitch::protocol
