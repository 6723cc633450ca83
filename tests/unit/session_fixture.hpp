// A server's switch state with clients joined as a handshake would join them, and each client's
// side of its session, so that tests and micro-benchmarks can drive the data plane with real
// sealed messages and a fake clock, without sockets or Diffie-Hellman.
#pragma once

#include <sodium.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "vswitch/data_plane.hpp"
#include "vswitch/switch_state.hpp"

namespace vswitch::test {

inline const TimePoint kT0 = TimePoint{} + std::chrono::seconds(1000);

struct TestClient {
  Keypair keypair;  // the client's view: its receive key is the server's send key
  Endpoint endpoint;
  std::uint64_t network = 1;
  noise::PublicKey key{};
  PortIndex port = kNoPort;
  std::uint64_t counter = 0;
};

class SessionFixture {
 public:
  explicit SessionFixture(bool secure = true, SwitchConfig sc = {}, SessionConfig ss = {})
      : state(sc, with_mode(ss, secure)) {
    if (sodium_init() < 0) std::abort();
  }

  // A v2 member with a fresh session (as after a handshake), not yet confirmed.
  TestClient& join_secure(int n, std::uint64_t network = 1, CipherSuite suite = CipherSuite::chacha20_poly1305,
                          TimePoint now = kT0, std::uint16_t mtu = 1500) {
    TestClient& c = new_client(n, network);
    randombytes_buf(c.key.data(), c.key.size());
    rekey(c, suite, now, mtu);
    return c;
  }
  // A new handshake for an existing client (rekey or restart).
  void rekey(TestClient& c, CipherSuite suite = CipherSuite::chacha20_poly1305, TimePoint now = kT0,
             std::uint16_t mtu = 1500) {
    handshake::SessionKeys keys;
    randombytes_buf(keys.send.data(), keys.send.size());
    randombytes_buf(keys.receive.data(), keys.receive.size());
    keys.suite = suite;
    keys.remote_index = randombytes_random() | 1;
    keys.mtu = mtu;
    std::uint32_t index = 0;
    Keypair* kp = state.sessions.allocate(index);
    (void)c.keypair.send.set(suite, keys.receive.bytes());
    (void)c.keypair.receive.set(suite, keys.send.bytes());
    c.keypair.plaintext = false;
    c.keypair.remote_index = index;
    c.keypair.local_index.store(keys.remote_index);
    c.keypair.reset_counters_for_test();
    c.counter = 0;
    PortEvent event{};
    SwitchState::key_keypair(*kp, keys);
    state.install_secure(kp, index, keys, c.key, "c" + std::to_string(&c - &clients.front() + 1), c.network, now, event);
    c.port = event.port;
  }
  // A v1 client after a proven HELLO.
  TestClient& join_plain(int n, std::uint64_t network = 1, TimePoint now = kT0) {
    TestClient& c = new_client(n, network);
    const std::uint32_t client_index = 5000 + static_cast<std::uint32_t>(n);
    PortEvent event{};
    Keypair* kp = state.install_plain(c.endpoint, client_index, network, 1500, now, event);
    c.keypair.plaintext = true;
    c.keypair.remote_index = kp->local_index.load();
    c.keypair.local_index.store(client_index);
    c.port = event.port;
    return c;
  }

  // A DATA message from a client (an empty frame makes a keepalive).
  std::vector<std::uint8_t> data(TestClient& c, const std::vector<std::uint8_t>& frame,
                                 MessageKind kind = MessageKind::frame) {
    std::vector<std::uint8_t> msg(c.keypair.overhead() + frame.size());
    std::copy(frame.begin(), frame.end(), msg.begin() + protocol::kDataHeaderSize);
    msg.resize(seal(c.keypair, kind, c.counter++, msg, frame.size()));
    return msg;
  }
  static std::vector<std::uint8_t> frame(std::uint64_t dst, std::uint64_t src, std::size_t size = 60) {
    std::vector<std::uint8_t> f(size, 0);
    const auto d = MacAddr::from_u64(dst).bytes();
    const auto s = MacAddr::from_u64(src).bytes();
    std::copy(d.begin(), d.end(), f.begin());
    std::copy(s.begin(), s.end(), f.begin() + 6);
    f[12] = 0x08;
    return f;
  }

  // Phases A and B for one datagram from `from` (the client's endpoint unless given): the plan.
  // `intake` says what phase A made of it.
  std::vector<Outbound> receive(std::vector<std::uint8_t>& msg, const TestClient& c, TimePoint now = kT0,
                                const Endpoint* from = nullptr) {
    Inbound in;
    last_intake = open_inbound(state.sessions, state.config.secure, msg, from ? *from : c.endpoint, in, drops);
    drops.merge_into(state.core);
    std::vector<Outbound> plan;
    plan.reserve(256);
    if (last_intake == Intake::session) {
      decide(state, in, 0, now, plan, events);
      last_inbound = in;
    }
    return plan;
  }
  std::uint64_t drops_of(DropReason r) const { return state.core.stats().drops[static_cast<std::size_t>(r)]; }

  SwitchState state;
  std::deque<TestClient> clients;
  DropTally drops;
  std::vector<PortEvent> events;
  Intake last_intake = Intake::dropped;
  Inbound last_inbound;

 private:
  static SessionConfig with_mode(SessionConfig s, bool secure) {
    s.secure = secure;
    return s;
  }
  TestClient& new_client(int n, std::uint64_t network) {
    TestClient& c = clients.emplace_back();
    c.endpoint = *Endpoint::parse_numeric("198.18.0." + std::to_string(n) + ":4000", 1);
    c.network = network;
    return c;
  }
};

}  // namespace vswitch::test
