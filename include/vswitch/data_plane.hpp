// The per-packet path shared by the socket and AF_XDP datapaths, in three phases so that the
// switch lock only ever decides (docs/architecture.md, "Secure sessions"):
//   A. open_inbound (no lock): classify the datagram, find its session by receiver index, verify
//      and decrypt it in place, judge its counter. Handshake messages are handed back for the
//      control thread; everything refused is counted in a DropTally.
//   B. decide (under the lock): admit the message to its port (confirm, roam, liveness), switch
//      the frame, and append what to send to an egress plan: whom, with which keypair, where.
//   C. seal (no lock, in the datapath): take counters, encrypt (unicast: in the receive buffer;
//      flood: a copy each), add outer headers, send.
// Datapaths only move bytes between these calls; everything here is pure and unit-tested.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vswitch/endpoint.hpp"
#include "vswitch/keypair.hpp"
#include "vswitch/switch_state.hpp"

namespace vswitch {

// Drops counted outside the lock, added to the switch's counters under it, once per batch.
struct DropTally {
  std::array<std::uint32_t, kDropReasonCount> counts{};
  std::uint32_t datagrams = 0;
  std::uint64_t bytes = 0;
  void drop(DropReason r) noexcept { ++counts[static_cast<std::size_t>(r)]; }
  void merge_into(SwitchCore& core) noexcept {
    for (std::size_t i = 0; i < kDropReasonCount; ++i)
      if (counts[i] != 0) core.stats().drops[i] += counts[i];
    core.stats().rx_packets += datagrams;
    core.stats().rx_bytes += bytes;
    *this = DropTally{};
  }
};

struct Inbound {
  std::span<std::uint8_t> message;  // the whole message, in the receive buffer
  Endpoint from;
  Keypair* keypair = nullptr;
  MessageKind kind = MessageKind::frame;
  std::span<std::uint8_t> payload;  // plaintext, in place: a frame, a CONTROL body, or empty
  PortIndex port = kNoPort;         // phase B: the port it was admitted to
  bool vxlan = false;               // EVPN: a frame from another server (no session; `vni`)
  std::uint32_t vni = 0;
};

enum class Intake : std::uint8_t {
  session,    // opened: go on to decide()
  handshake,  // for the control thread (HELLO, BYE, INITIATION; v1 DATA for an unknown session)
  dropped,    // counted
};

Intake open_inbound(const SessionTable& sessions, bool secure, std::span<std::uint8_t> message, const Endpoint& from,
                    Inbound& out, DropTally& drops) noexcept;
// Phase A of a datagram to the VXLAN port: the header checked, the frame in place after it.
Intake open_vxlan(std::span<std::uint8_t> datagram, const Endpoint& from, Inbound& out, DropTally& drops) noexcept;

struct Outbound {
  enum class Kind : std::uint8_t {
    forward_in_place,  // unicast: reseal the inbound message where it lies
    forward_copy,      // flood: a copy of the inbound frame for this port
    keepalive_reply,   // v1: KEEPALIVE answered with one
    pong,              // v2: PING answered
    vxlan,             // EVPN: the inbound frame to another server (VXLAN header, `vni`; no keypair)
  };
  Kind kind;
  std::uint32_t inbound;  // which message of the batch
  PortIndex port;
  Keypair* keypair;       // the egress session (QSBR keeps it alive until the batch ends)
  Endpoint endpoint;
  std::uint64_t sequence = 0;  // pong: the ping's
  std::uint32_t vni = 0;       // vxlan
};

// Phase B for one opened message. Appends at most one entry per destination port to `plan`. A
// frame from another server (vxlan) is never resealed in place: its buffer has no room for a
// session's header and tag, so every local egress is a copy.
void decide(SwitchState& state, Inbound& in, std::uint32_t inbound_id, TimePoint now, std::vector<Outbound>& plan,
            std::vector<PortEvent>& events) noexcept;

// Phase C for replies: writes the whole message for a keepalive reply or a pong into `out`
// (room for the overhead plus 16 bytes). Returns its size, or 0 when the keypair is used up.
std::size_t seal_reply(const Outbound& o, std::span<std::uint8_t> out) noexcept;
// Phase C for frames: `message` holds room for the header, the frame at header offset, and the
// tag; returns the message size, or 0 when the keypair may not send any more.
std::size_t seal_frame(const Outbound& o, std::span<std::uint8_t> message, std::size_t frame_size) noexcept;
// Phase C for a frame to another server: its 8-byte VXLAN header.
void vxlan_header(const Outbound& o, std::span<std::uint8_t, 8> header) noexcept;

// Logs what phase B reported (after the lock is released).
void log_events(std::vector<PortEvent>& events);
// " (N similar line(s) held back)" after a rate-limited log line, or nothing.
std::string held_back_note(std::uint64_t held_back);

}  // namespace vswitch
