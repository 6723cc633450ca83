#include "vswitch/protocol_v2.hpp"

#include <algorithm>

namespace vswitch::protocol::v2 {
namespace {

bool zero(std::span<const std::uint8_t> b) noexcept {
  for (auto x : b)
    if (x != 0) return false;
  return true;
}

}  // namespace

void encode(const InitiationPayload& p, std::span<std::uint8_t, initiation::kPayloadSize> out) noexcept {
  std::copy(p.timestamp.begin(), p.timestamp.end(), out.begin());
  store_be64(out.subspan(12), p.network);
  out[20] = p.suites;
  out[21] = 0;
  store_be16(out.subspan(22), p.mtu);
}

DecodeError decode(std::span<const std::uint8_t, initiation::kPayloadSize> in, InitiationPayload& out) noexcept {
  std::copy_n(in.begin(), kTimestampSize, out.timestamp.begin());
  out.network = load_be64(in.subspan(12));
  out.suites = in[20];
  out.mtu = load_be16(in.subspan(22));
  if (in[21] != 0 || out.mtu < kMinMtu || out.mtu > kMaxMtu || out.suites == 0) return DecodeError::bad_field;
  return DecodeError::none;
}

void encode(const ResponsePayload& p, std::span<std::uint8_t, response::kPayloadSize> out) noexcept {
  out[0] = p.suite;
  out[1] = 0;
  store_be16(out.subspan(2), p.mtu);
}

DecodeError decode(std::span<const std::uint8_t, response::kPayloadSize> in, ResponsePayload& out) noexcept {
  out.suite = in[0];
  out.mtu = load_be16(in.subspan(2));
  if (in[1] != 0 || out.mtu < kMinMtu || out.mtu > kMaxMtu) return DecodeError::bad_field;
  return DecodeError::none;
}

DecodeError classify(std::span<const std::uint8_t> msg, MessageType& type) noexcept {
  if (msg.size() < kPrefixSize) return DecodeError::truncated;
  if (msg[0] != kVersion) return DecodeError::bad_version;
  std::size_t exact = 0;
  switch (static_cast<MessageType>(msg[1])) {
    case MessageType::initiation: exact = initiation::kSize; break;
    case MessageType::response: exact = response::kSize; break;
    case MessageType::cookie_reply: exact = cookie_reply::kSize; break;
    case MessageType::data:
    case MessageType::control:
      if (msg.size() < kKeepaliveSize) return DecodeError::truncated;
      if (msg.size() > kMaxMessageSize) return DecodeError::bad_length;
      if (load_be16(msg.subspan(VSWITCH_V2_LENGTH_OFFSET)) != msg.size()) return DecodeError::bad_length;
      type = static_cast<MessageType>(msg[1]);
      return DecodeError::none;
    default: return DecodeError::bad_type;
  }
  if (msg.size() != exact) return msg.size() < exact ? DecodeError::truncated : DecodeError::bad_length;
  if (msg[2] != 0 || msg[3] != 0) return DecodeError::bad_field;
  type = static_cast<MessageType>(msg[1]);
  return DecodeError::none;
}

void write_prefix(MessageType type, std::span<std::uint8_t> out) noexcept {
  out[0] = kVersion;
  out[1] = static_cast<std::uint8_t>(type);
  out[2] = out[3] = 0;
}

std::size_t encode(const Control& c, std::span<std::uint8_t> out) noexcept {
  out[0] = static_cast<std::uint8_t>(c.op);
  if (c.op == ControlOp::bye) {
    out[1] = static_cast<std::uint8_t>(c.reason);
    out[2] = out[3] = 0;
    return kByeSize;
  }
  out[1] = out[2] = out[3] = 0;
  store_be64(out.subspan(4), c.sequence);
  return kPingSize;
}

DecodeError decode(std::span<const std::uint8_t> payload, Control& out) noexcept {
  if (payload.empty()) return DecodeError::truncated;
  switch (static_cast<ControlOp>(payload[0])) {
    case ControlOp::ping:
    case ControlOp::pong:
      if (payload.size() != kPingSize) return payload.size() < kPingSize ? DecodeError::truncated : DecodeError::bad_length;
      if (!zero(payload.subspan(1, 3))) return DecodeError::bad_field;
      out.op = static_cast<ControlOp>(payload[0]);
      out.sequence = load_be64(payload.subspan(4));
      return DecodeError::none;
    case ControlOp::bye:
      if (payload.size() != kByeSize) return payload.size() < kByeSize ? DecodeError::truncated : DecodeError::bad_length;
      if (payload[1] > static_cast<std::uint8_t>(ByeReason::replaced) || !zero(payload.subspan(2, 2)))
        return DecodeError::bad_field;
      out.op = ControlOp::bye;
      out.reason = static_cast<ByeReason>(payload[1]);
      return DecodeError::none;
  }
  return DecodeError::bad_type;
}

std::string_view to_string(ByeReason reason) {
  switch (reason) {
    case ByeReason::shutdown: return "shutdown";
    case ByeReason::revoked: return "revoked";
    case ByeReason::replaced: return "replaced";
  }
  return "unknown";
}

}  // namespace vswitch::protocol::v2
