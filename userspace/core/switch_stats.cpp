#include "vswitch/switch_stats.hpp"

namespace vswitch {

std::string_view to_string(DropReason reason) {
  switch (reason) {
    case DropReason::truncated: return "truncated";
    case DropReason::bad_version: return "bad_version";
    case DropReason::bad_type: return "bad_type";
    case DropReason::bad_flags: return "bad_flags";
    case DropReason::bad_length: return "bad_length";
    case DropReason::bad_field: return "bad_field";
    case DropReason::oversize_datagram: return "oversize_datagram";
    case DropReason::unknown_session: return "unknown_session";
    case DropReason::endpoint_mismatch: return "endpoint_mismatch";
    case DropReason::port_table_full: return "port_table_full";
    case DropReason::bad_source_mac: return "bad_source_mac";
    case DropReason::frame_too_big: return "frame_too_big";
    case DropReason::egress_mtu: return "egress_mtu";
    case DropReason::no_egress: return "no_egress";
    case DropReason::tx_error: return "tx_error";
    case DropReason::bad_underlay: return "bad_underlay";
    case DropReason::no_frame: return "no_frame";
    case DropReason::bad_tag: return "bad_tag";
    case DropReason::replay: return "replay";
    case DropReason::expired_session: return "expired_session";
    case DropReason::version_mismatch: return "version_mismatch";
    case DropReason::handshake_queue_full: return "handshake_queue_full";
    case DropReason::pinned_mac: return "pinned_mac";
    case DropReason::storm_control: return "storm_control";
    case DropReason::bad_source_address: return "bad_source_address";
    case DropReason::denied_source: return "denied_source";
    case DropReason::count_: break;
  }
  return "unknown";
}

std::uint64_t SwitchStats::drops_total() const noexcept {
  std::uint64_t sum = 0;
  for (auto d : drops) sum += d;
  return sum;
}

}  // namespace vswitch

namespace vswitch {

std::string_view to_string(HandshakeRefusal reason) {
  switch (reason) {
    case HandshakeRefusal::bad_mac1: return "bad_mac1";
    case HandshakeRefusal::bad_handshake: return "bad_handshake";
    case HandshakeRefusal::not_member: return "not_member";
    case HandshakeRefusal::stale_timestamp: return "stale_timestamp";
    case HandshakeRefusal::too_frequent: return "too_frequent";
    case HandshakeRefusal::rate_limited: return "rate_limited";
    case HandshakeRefusal::no_common_suite: return "no_common_suite";
    case HandshakeRefusal::tables_full: return "tables_full";
    case HandshakeRefusal::bad_token: return "bad_token";
    case HandshakeRefusal::count_: break;
  }
  return "unknown";
}

std::uint64_t HandshakeStats::refused_total() const noexcept {
  std::uint64_t sum = 0;
  for (const auto& r : refused) sum += read(r);
  return sum;
}

}  // namespace vswitch
