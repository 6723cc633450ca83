// libFuzzer target for the data plane: datagrams into phase A (classify, find, open, replay)
// and B (admit, switch, plan), and phase C's seal, on a secure and an insecure switch.
// Raw bytes test everything before authentication; to reach switching, the harness also seals
// the fuzz bytes as a member's frame or CONTROL body, and checks that what each destination opens
// is exactly what was sent. A fourth mode feeds the bytes in as VXLAN from another server (EVPN),
// whose VTEP is on the network's flood list in every mode. The first byte picks the mode.
// Built with clang and -DVSWITCH_FUZZ=ON.
#include <cstdlib>
#include <vector>

#include "../unit/session_fixture.hpp"

using namespace vswitch;
using namespace vswitch::test;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

SwitchConfig small() {
  SwitchConfig c;
  c.max_ports = 8;
  c.fdb_max = 256;
  return c;
}

// Everything the plan says to send, sealed and opened by its destination.
void deliver(SessionFixture& f, const std::vector<Outbound>& plan, std::span<const std::uint8_t> sent_frame) {
  for (const Outbound& o : plan) {
    if (o.kind == Outbound::Kind::vxlan) {  // to the other server: plaintext behind a header
      check(o.keypair == nullptr && o.vni == 1);
      continue;
    }
    std::vector<std::uint8_t> msg(o.keypair->overhead() + 64 + f.last_inbound.payload.size());
    std::size_t n = 0;
    if (o.kind == Outbound::Kind::forward_copy || o.kind == Outbound::Kind::forward_in_place) {
      std::copy(f.last_inbound.payload.begin(), f.last_inbound.payload.end(), msg.begin() + protocol::kDataHeaderSize);
      n = seal_frame(o, msg, f.last_inbound.payload.size());
    } else {
      n = seal_reply(o, msg);
    }
    check(n != 0);
    msg.resize(n);
    for (auto& c : f.clients) {
      if (c.port != o.port) continue;
      const auto opened = open(c.keypair, msg);
      check(opened.has_value());
      if (!sent_frame.empty() && o.kind != Outbound::Kind::pong && o.kind != Outbound::Kind::keepalive_reply)
        check(std::equal(opened->begin(), opened->end(), sent_frame.begin(), sent_frame.end()));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  const bool secure = (data[0] & 1) == 0;
  SessionFixture f(secure, small());
  for (int i = 1; i <= 3; ++i) {
    auto& c = secure ? f.join_secure(i) : f.join_plain(i);
    auto hello = f.data(c, SessionFixture::frame(0xffffffffffffULL, 0x020000000000ULL + static_cast<unsigned>(i)));
    f.receive(hello, c);
  }
  const Endpoint vtep = *Endpoint::parse_numeric("198.18.9.9:4789", 4789);
  f.state.evpn_network(1, 1);
  f.state.evpn_flood(1, vtep, true, kT0);
  std::vector<std::uint8_t> msg;
  switch ((data[0] >> 1) % 4) {
    case 0:  // raw datagram from a member's address
      msg.assign(in.begin(), in.end());
      deliver(f, f.receive(msg, f.clients[0]), {});
      break;
    case 1: {  // a genuine frame with the fuzz bytes as its contents
      if (in.size() > protocol::max_frame_size(1500)) return 0;
      std::vector<std::uint8_t> frame(in.begin(), in.end());
      msg = f.data(f.clients[0], frame);
      const auto plan = f.receive(msg, f.clients[0]);
      deliver(f, plan, frame);
      break;
    }
    case 2:  // a genuine CONTROL (v2) or keepalive (v1) with the fuzz bytes as its body
      msg = f.data(f.clients[0], std::vector<std::uint8_t>(in.begin(), in.end()),
                   secure ? MessageKind::control : MessageKind::keepalive);
      deliver(f, f.receive(msg, f.clients[0]), {});
      break;
    case 3: {  // VXLAN from the other server: phase A's header check, then B (split horizon)
      msg.assign(in.begin(), in.end());
      if (msg.size() >= 8) {  // our VNI, so that the frame gets switched (other VNIs: unit tests)
        msg[4] = msg[5] = 0;
        msg[6] = 1;
      }
      Inbound vx;
      DropTally drops;
      if (open_vxlan(msg, *Endpoint::parse_numeric("198.18.9.9:51000", 0), vx, drops) != Intake::session) return 0;
      std::vector<Outbound> plan;
      plan.reserve(256);
      std::vector<PortEvent> events;
      decide(f.state, vx, 0, kT0, plan, events);
      for (const Outbound& o : plan) check(o.kind != Outbound::Kind::vxlan);  // never back to a server
      f.last_inbound = vx;
      deliver(f, plan, vx.payload);
      break;
    }
  }
  return 0;
}
