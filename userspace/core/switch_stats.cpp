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
    case DropReason::bad_vxlan: return "bad_vxlan";
    case DropReason::unknown_vni: return "unknown_vni";
    case DropReason::unknown_vtep: return "unknown_vtep";
    case DropReason::count_: break;
  }
  return "unknown";
}

std::uint64_t SwitchStats::drops_total() const noexcept {
  std::uint64_t sum = 0;
  for (auto d : drops) sum += d;
  return sum;
}

void SwitchStats::describe(metrics::Samples& out) const {
  using metrics::Section;
  using metrics::Type;
  metrics::Collector c(out);
  c.counter("rx_packets_total", "Datagrams received.", "rx_packets", rx_packets)
      .counter("rx_bytes_total", "Bytes of datagrams received.", "rx_bytes", rx_bytes)
      .counter("tx_packets_total", "Datagrams queued for sending.", "tx_packets", tx_packets)
      .counter("tx_bytes_total", "Bytes of datagrams queued for sending.", "tx_bytes", tx_bytes)
      .counter("frames_received_total", "Ethernet frames accepted for switching.", "rx_frames", rx_frames)
      .counter("frames_forwarded_total", "Frames switched, by how: to one known port, or flooded.", "unicast",
               unicast, {{"how", "unicast"}})
      .counter("frames_forwarded_total", "", "flooded", flooded, {{"how", "flood"}})
      .counter("flood_copies_total", "Datagrams produced by flooding (one per egress port).", "flood_copies",
               flood_copies)
      .counter("frames_filtered_total", "Frames whose destination is on their ingress port (not sent).", "filtered",
               filtered)
      .counter("fdb_events_total", "MAC table events, by kind.", "learned", learned, {{"event", "learned"}})
      .counter("fdb_events_total", "", "moved", moved, {{"event", "moved"}})
      .counter("fdb_events_total", "", "aged", aged, {{"event", "aged"}})
      .counter("fdb_events_total", "", "replaced_own", replaced_own, {{"event", "replaced_own"}})
      .counter("fdb_events_total", "", "evicted", evicted, {{"event", "evicted"}})
      .counter("fdb_events_total", "", "learn_refused", learn_refused, {{"event", "refused"}})
      .counter("fdb_events_total", "", "moves_dampened", moves_dampened, {{"event", "move_dampened"}})
      .counter("port_events_total", "Ports that joined or went away, by why.", "ports_joined", ports_joined,
               {{"event", "joined"}})
      .counter("port_events_total", "", "ports_left", ports_left, {{"event", "left"}})
      .counter("port_events_total", "", "ports_timed_out", ports_timed_out, {{"event", "timed_out"}})
      .counter("port_events_total", "", "ports_revoked", ports_revoked, {{"event", "revoked"}})
      .counter("roams_total", "Authenticated packets that moved a port's endpoint.", "roams", roams)
      .counter("evpn_remote_macs_total", "EVPN routes applied to the MAC table, by what they did.", "remote_learned",
               remote_learned, {{"event", "learned"}})
      .counter("evpn_remote_macs_total", "", "remote_moved", remote_moved, {{"event", "moved"}})
      .counter("evpn_remote_macs_total", "", "remote_withdrawn", remote_withdrawn, {{"event", "withdrawn"}})
      .counter("evpn_duplicate_macs_total",
               "EVPN: MACs that flapped between servers and were frozen (as FRR's duplicate detection does).",
               "evpn_duplicates", evpn_duplicates)
      .counter("vxlan_frames_total", "Frames to and from other servers over VXLAN.", "vxlan_rx", vxlan_rx,
               {{"direction", "rx"}})
      .counter("vxlan_frames_total", "", "vxlan_tx", vxlan_tx, {{"direction", "tx"}})
      .counter("", "", "replays", drops[static_cast<std::size_t>(DropReason::replay)])
      .counter("", "", "bad_tags", drops[static_cast<std::size_t>(DropReason::bad_tag)])
      .counter("", "", "drops_total", drops_total());
  for (std::size_t i = 0; i < kDropReasonCount; ++i) {
    const std::string_view reason = to_string(static_cast<DropReason>(i));
    c.add("drops_total", "Datagrams and frames dropped, by reason.", Type::counter, {{"reason", std::string(reason)}},
          Section::drops, std::string(reason), drops[i]);
  }
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

void HandshakeStats::describe(metrics::Samples& out) const {
  using metrics::Section;
  metrics::Collector c(out);
  c.counter("handshakes_accepted_total", "Sessions installed (v2) or joins proven (v1).", "handshakes_accepted",
            accepted)
      .counter("", "", "handshakes_refused", refused_total())
      .counter("cookies_sent_total", "v2 cookie replies sent under load.", "cookies_sent", cookies_sent)
      .counter("challenges_sent_total", "v1 challenges sent.", "challenges_sent", challenges_sent)
      .counter("unauthenticated_replies_total", "Hints sent to unauthenticated senders, by kind.", "version_replies",
               version_replies, {{"kind", "version"}})
      .counter("unauthenticated_replies_total", "", "unknown_session_replies", unknown_session_replies,
               {{"kind", "unknown_session"}})
      .counter("unauthenticated_replies_suppressed_total", "Hints not sent: over the sender's budget.",
               "replies_suppressed", replies_suppressed)
      .counter("handshake_queue_full_total", "Handshake messages dropped before the control thread saw them.",
               "handshake_queue_full", queue_full);
  for (std::size_t i = 0; i < kHandshakeRefusalCount; ++i) {
    const std::string_view reason = to_string(static_cast<HandshakeRefusal>(i));
    c.add("handshakes_refused_total", "Handshakes refused, by reason.", metrics::Type::counter,
          {{"reason", std::string(reason)}}, Section::handshakes_refused, std::string(reason), read(refused[i]));
  }
}

}  // namespace vswitch
