// The steering decision of bpf/vswitch_xdp.bpf.c, run in the kernel on crafted packets with
// BPF_PROG_TEST_RUN. No AF_XDP socket sits in the map here, so a packet the program decides to
// steer comes back as XDP_PASS with the `no_socket` counter raised; everything else raises
// `passed`, `malformed`, `control` (handshakes, left to the kernel) or `super_packet`; a tunnel
// packet from a refused source is XDP_DROP with `bogus_source` or `denied_source`.
// Needs root (CAP_BPF): skipped otherwise. Test addresses: 198.18.0.0/15 and 2001:db8::/32; the
// impossible ones exist only inside the crafted packets.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <arpa/inet.h>

#include <cstring>

#include <vector>

#include "vswitch/bpf_abi.h"
#include "vswitch/protocol_v2.hpp"
#include "vswitch/underlay.hpp"
#include "vswitch/underlay_policy.hpp"
#include "vswitch_xdp.skel.h"

using namespace vswitch;

namespace {

underlay::UnderlayRoute route(bool ipv6, std::uint16_t dst_port, std::uint32_t dst_v4 = 0xc6120001) {
  underlay::UnderlayRoute r;
  r.l2 = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, static_cast<std::uint8_t>(ipv6 ? 0x86 : 0x08),
          static_cast<std::uint8_t>(ipv6 ? 0xdd : 0x00)};
  r.l2_size = 14;
  r.ipv6 = ipv6;
  if (ipv6) {
    inet_pton(AF_INET6, "2001:db8::1", r.remote_addr.data());
    inet_pton(AF_INET6, "2001:db8::2", r.local_addr.data());
  } else {
    const std::uint32_t src = htonl(0xc612000b), dst = htonl(dst_v4);
    std::memcpy(r.local_addr.data(), &src, 4);
    std::memcpy(r.remote_addr.data(), &dst, 4);
  }
  r.local_port = htons(40000);
  r.remote_port = htons(dst_port);
  return r;
}

// A v2 DATA message of `size` bytes in all, its length field as a sender writes it.
std::vector<std::uint8_t> v2_message(std::size_t size, std::uint8_t type = VSWITCH_V2_DATA) {
  std::vector<std::uint8_t> m(size, 0xab);
  protocol::v2::write_data_header({static_cast<protocol::v2::MessageType>(type), 7, 1}, size, m);
  return m;
}

// The same route with another underlay source (the route's local side writes the source).
underlay::UnderlayRoute from(underlay::UnderlayRoute r, const char* source) {
  r.local_addr = {};
  EXPECT_EQ(inet_pton(r.ipv6 ? AF_INET6 : AF_INET, source, r.local_addr.data()), 1) << source;
  return r;
}

std::vector<std::uint8_t> packet_with(const underlay::UnderlayRoute& r, const std::vector<std::uint8_t>& message);

// A packet carrying one v2 DATA message of `payload` bytes.
std::vector<std::uint8_t> packet(const underlay::UnderlayRoute& r, std::size_t payload = 64) {
  return packet_with(r, v2_message(payload));
}

std::vector<std::uint8_t> packet_with(const underlay::UnderlayRoute& r, const std::vector<std::uint8_t>& message) {
  std::vector<std::uint8_t> p(r.header_size());
  p.insert(p.end(), message.begin(), message.end());
  underlay::write_headers(r, p, message.size());
  return p;
}

// A DATA message carrying an Ethernet frame with an IPv4 or IPv6 packet of `payload` bytes.
std::vector<std::uint8_t> data_message(bool inner_v6, bool tagged, std::size_t payload) {
  std::vector<std::uint8_t> m = {1, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  const std::uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
  m.insert(m.end(), macs, macs + 12);
  if (tagged) m.insert(m.end(), {0x81, 0x00, 0x00, 0x64});
  m.insert(m.end(), {static_cast<std::uint8_t>(inner_v6 ? 0x86 : 0x08), static_cast<std::uint8_t>(inner_v6 ? 0xdd : 0)});
  const std::size_t l3 = m.size();
  m.resize(l3 + (inner_v6 ? 40 : 20) + payload, 0x5a);
  if (inner_v6) {
    m[l3] = 0x60;
    m[l3 + 4] = static_cast<std::uint8_t>(payload >> 8);
    m[l3 + 5] = static_cast<std::uint8_t>(payload);
  } else {
    m[l3] = 0x45;
    m[l3 + 2] = static_cast<std::uint8_t>((20 + payload) >> 8);
    m[l3 + 3] = static_cast<std::uint8_t>(20 + payload);
  }
  return m;
}

// A VXLAN datagram's payload: the 8-byte header (I flag, VNI 1) and the same Ethernet frame.
std::vector<std::uint8_t> vxlan_message(bool inner_v6, std::size_t payload) {
  auto m = data_message(inner_v6, false, payload);
  m.erase(m.begin(), m.begin() + 16);
  const std::uint8_t header[VSWITCH_VXLAN_HEADER_SIZE] = {VSWITCH_VXLAN_FLAG_VNI, 0, 0, 0, 0, 0, 1, 0};
  m.insert(m.begin(), header, header + sizeof header);
  return m;
}

class XdpSteering : public ::testing::Test {
 protected:
  void SetUp() override { load(0); }
  void TearDown() override {
    if (skel_ != nullptr) vswitch_xdp__destroy(skel_);
  }

  // `addr4`/`addr6`: the listen address (network order / text), unset for the any-address.
  // `vtep4`: EVPN's VTEP address (network order), 0 for no EVPN.
  void load(std::uint32_t addr4, const UnderlayPolicy& policy = {}, const char* addr6 = nullptr, std::uint32_t vtep4 = 0) {
    if (skel_ != nullptr) vswitch_xdp__destroy(skel_);
    skel_ = vswitch_xdp__open();
    ASSERT_NE(skel_, nullptr);
    skel_->rodata->cfg_port = 9797;
    if (vtep4 != 0) {
      skel_->rodata->cfg_vxlan_port = VSWITCH_VXLAN_PORT;
      skel_->rodata->cfg_vxlan_addr4 = vtep4;
    }
    skel_->rodata->cfg_addr4 = addr4;
    skel_->rodata->cfg_max_len = kMaxLen;
    skel_->rodata->cfg_default_deny = policy.default_verdict() == UnderlayVerdict::deny;
    if (addr6 != nullptr) {
      in6_addr a{};
      ASSERT_EQ(inet_pton(AF_INET6, addr6, &a), 1);
      std::memcpy(const_cast<__u8*>(skel_->rodata->cfg_addr6), &a, 16);
      skel_->rodata->cfg_match_addr6 = 1;
    }
    const int rc = vswitch_xdp__load(skel_);
    if (rc == -EPERM || rc == -EACCES) GTEST_SKIP() << "loading BPF needs root";
    ASSERT_EQ(rc, 0);
    for (const UnderlayRule& rule : policy.trie_entries()) {
      vswitch_underlay_key key{};
      key.prefixlen = rule.prefix_len;
      std::memcpy(key.addr, rule.address.data(), 16);
      const auto verdict = static_cast<__u8>(rule.verdict);
      ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.underlay_rules), &key, &verdict, BPF_ANY), 0)
          << rule.prefix_text();
    }
  }

  // Runs the program on one packet; returns the XDP action and which counter moved.
  int run(const std::vector<std::uint8_t>& p, int& counter_moved) {
    const auto before = counters();
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p.data(), .data_size_in = static_cast<__u32>(p.size()),
                .repeat = 1);
    EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.vswitch_xdp), &opts), 0);
    const auto after = counters();
    counter_moved = -1;
    for (int i = 0; i < VSWITCH_XDP_COUNTER_COUNT; ++i)
      if (after[i] != before[i]) counter_moved = i;
    return static_cast<int>(opts.retval);
  }

  std::array<std::uint64_t, VSWITCH_XDP_COUNTER_COUNT> counters() {
    std::array<std::uint64_t, VSWITCH_XDP_COUNTER_COUNT> total{};
    std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(libbpf_num_possible_cpus()));
    for (__u32 i = 0; i < VSWITCH_XDP_COUNTER_COUNT; ++i) {
      bpf_map_lookup_elem(bpf_map__fd(skel_->maps.counters), &i, per_cpu.data());
      for (auto v : per_cpu) total[i] += v;
    }
    return total;
  }

  void expect(const std::vector<std::uint8_t>& p, int counter) {
    int moved = -2;
    EXPECT_EQ(run(p, moved), XDP_PASS);
    EXPECT_EQ(moved, counter);
  }

  void expect_drop(const std::vector<std::uint8_t>& p, int counter) {
    int moved = -2;
    EXPECT_EQ(run(p, moved), XDP_DROP);
    EXPECT_EQ(moved, counter);
  }

  static constexpr std::uint32_t kMaxLen = 2048;
  vswitch_xdp* skel_ = nullptr;
};

}  // namespace

TEST_F(XdpSteering, TunnelPortIsSteeredOverIpv4AndIpv6) {
  expect(packet(route(false, 9797)), VSWITCH_XDP_NO_SOCKET);
  expect(packet(route(true, 9797)), VSWITCH_XDP_NO_SOCKET);
  expect(packet_with(route(false, 9797), v2_message(32, VSWITCH_V2_CONTROL)), VSWITCH_XDP_NO_SOCKET);
  expect(packet_with(route(false, 9797), data_message(false, false, 100)), VSWITCH_XDP_NO_SOCKET);  // v1 DATA
}

// Handshakes go to the kernel socket (and from there to the control thread), never to a worker.
TEST_F(XdpSteering, HandshakeMessagesAreLeftToTheKernel) {
  std::vector<std::uint8_t> initiation(protocol::v2::initiation::kSize, 0);
  initiation[0] = VSWITCH_WIRE_V2;
  initiation[1] = VSWITCH_V2_INITIATION;
  expect(packet_with(route(false, 9797), initiation), VSWITCH_XDP_CONTROL);
  std::vector<std::uint8_t> hello(32, 0);
  hello[0] = VSWITCH_WIRE_V1;
  hello[1] = VSWITCH_V1_HELLO;
  expect(packet_with(route(false, 9797), hello), VSWITCH_XDP_CONTROL);
  hello[1] = VSWITCH_V1_BYE;
  hello.resize(12);
  expect(packet_with(route(true, 9797), hello), VSWITCH_XDP_CONTROL);
  std::vector<std::uint8_t> garbage(40, 0x77);
  expect(packet_with(route(false, 9797), garbage), VSWITCH_XDP_CONTROL);
}

TEST_F(XdpSteering, OtherPortsAndProtocolsPass) {
  expect(packet(route(false, 22)), VSWITCH_XDP_PASSED);
  expect(packet(route(true, 9798)), VSWITCH_XDP_PASSED);
  auto tcp = packet(route(false, 9797));
  tcp[14 + 9] = 6;  // TCP to the same port number is not ours
  expect(tcp, VSWITCH_XDP_PASSED);
  auto arp = packet(route(false, 9797));
  arp[12] = 0x08;
  arp[13] = 0x06;
  expect(arp, VSWITCH_XDP_PASSED);
}

TEST_F(XdpSteering, VlanTaggedTunnelPacketIsSteered) {
  auto r = route(false, 9797);
  r.l2[12] = 0x81;
  r.l2[13] = 0x00;
  r.l2[14] = 0x00;
  r.l2[15] = 0x64;
  r.l2[16] = 0x08;
  r.l2[17] = 0x00;
  r.l2_size = 18;
  expect(packet(r), VSWITCH_XDP_NO_SOCKET);
}

TEST_F(XdpSteering, FragmentsAndIpv6ExtensionHeadersGoToTheKernel) {
  auto more_fragments = packet(route(false, 9797));
  more_fragments[14 + 6] = 0x20;  // MF
  expect(more_fragments, VSWITCH_XDP_PASSED);
  auto later_fragment = packet(route(false, 9797));
  later_fragment[14 + 7] = 0x10;  // offset != 0
  expect(later_fragment, VSWITCH_XDP_PASSED);
  auto hop_by_hop = packet(route(true, 9797));
  hop_by_hop[14 + 6] = 0;
  expect(hop_by_hop, VSWITCH_XDP_PASSED);
}

TEST_F(XdpSteering, TruncatedHeadersAreMalformedAndPass) {
  const auto full = packet(route(false, 9797));
  for (std::size_t n : {std::size_t{14} + 10, std::size_t{14} + 20 + 4}) {
    std::vector<std::uint8_t> cut(full.begin(), full.begin() + static_cast<long>(n));
    // The kernel's test run needs at least an Ethernet header.
    expect(cut, VSWITCH_XDP_MALFORMED);
  }
  auto v6 = packet(route(true, 9797));
  v6.resize(14 + 30);
  expect(v6, VSWITCH_XDP_MALFORMED);
  auto bad_ihl = packet(route(false, 9797));
  bad_ihl[14] = 0x43;
  expect(bad_ihl, VSWITCH_XDP_MALFORMED);
}

TEST_F(XdpSteering, AddressFilterWhenListeningOnOneAddress) {
  load(htonl(0xc6120001));  // 198.18.0.1
  expect(packet(route(false, 9797, 0xc6120001)), VSWITCH_XDP_NO_SOCKET);
  expect(packet(route(false, 9797, 0xc6120002)), VSWITCH_XDP_PASSED);
}

TEST_F(XdpSteering, PacketsLongerThanAFrameAreLeftToTheKernel) {
  expect(packet(route(false, 9797), kMaxLen), VSWITCH_XDP_SUPER);
  expect(packet(route(true, 9797), kMaxLen), VSWITCH_XDP_SUPER);
  // The largest packet that fits is still steered.
  expect(packet(route(false, 9797), kMaxLen - 14 - 20 - 8), VSWITCH_XDP_NO_SOCKET);
}

// A v2 message says its length: one whose length disagrees with its datagram is several (a
// train seen whole) or malformed, and either way the kernel's UDP stack is the right place.
TEST_F(XdpSteering, V2LengthFieldDecidesSingleMessages) {
  for (int generic : {0, 1}) {
    skel_->bss->generic_mode = static_cast<__u8>(generic);
    auto one = v2_message(200);
    expect(packet_with(route(false, 9797), one), VSWITCH_XDP_NO_SOCKET);
    auto train = one;
    train.insert(train.end(), one.begin(), one.end());
    expect(packet_with(route(false, 9797), train), VSWITCH_XDP_SUPER);
    auto padded = one;
    padded.push_back(0);
    expect(packet_with(route(true, 9797), padded), VSWITCH_XDP_SUPER);
    auto keepalive = v2_message(32);
    expect(packet_with(route(true, 9797), keepalive), VSWITCH_XDP_NO_SOCKET);
  }
}

// In generic mode a UDP GSO train arrives as one packet: a v1 DATA message (no length field) is
// steered only when provably single (its inner IP frame ends where the packet ends).
TEST_F(XdpSteering, GenericModeSteersOnlyProvablySingleV1Messages) {
  skel_->bss->generic_mode = 1;
  for (bool inner_v6 : {false, true}) {
    for (bool tagged : {false, true}) {
      auto single = data_message(inner_v6, tagged, 100);
      expect(packet_with(route(false, 9797), single), VSWITCH_XDP_NO_SOCKET);
      auto train = single;
      train.insert(train.end(), single.begin(), single.end());  // two messages back to back
      expect(packet_with(route(false, 9797), train), VSWITCH_XDP_SUPER);
      auto padded = single;
      padded.push_back(0);
      expect(packet_with(route(true, 9797), padded), VSWITCH_XDP_SUPER);
    }
  }
  auto arp = data_message(false, false, 100);
  arp[16 + 12] = 0x08;
  arp[16 + 13] = 0x06;
  expect(packet_with(route(false, 9797), arp), VSWITCH_XDP_SUPER);
  auto keepalive = data_message(false, false, 100);
  keepalive[1] = 3;
  expect(packet_with(route(false, 9797), keepalive), VSWITCH_XDP_SUPER);  // longer than a KEEPALIVE
  keepalive.resize(16);
  expect(packet_with(route(false, 9797), keepalive), VSWITCH_XDP_NO_SOCKET);
  // Native mode steers the same train (the driver never sees super-packets).
  skel_->bss->generic_mode = 0;
  auto train = data_message(false, false, 100);
  train.insert(train.end(), train.begin(), train.end());
  expect(packet_with(route(false, 9797), train), VSWITCH_XDP_NO_SOCKET);
}

// EVPN: VXLAN from the other servers to our VTEP address takes the fast path too.
TEST_F(XdpSteering, VxlanToTheVtepIsSteeredOnlyWithEvpn) {
  const auto vxlan = packet_with(route(false, VSWITCH_VXLAN_PORT), vxlan_message(false, 100));
  expect(vxlan, VSWITCH_XDP_PASSED);  // no EVPN: not ours
  load(0, {}, nullptr, htonl(0xc6120001));
  if (skel_ == nullptr) return;
  expect(vxlan, VSWITCH_XDP_NO_SOCKET);
  expect(packet_with(route(false, VSWITCH_VXLAN_PORT), vxlan_message(true, 300)), VSWITCH_XDP_NO_SOCKET);
  expect(packet_with(route(false, VSWITCH_VXLAN_PORT, 0xc6120002), vxlan_message(false, 100)),
         VSWITCH_XDP_PASSED);  // another address's VXLAN is the kernel's
  auto no_i_flag = vxlan_message(false, 100);
  no_i_flag[0] = 0;
  expect(packet_with(route(false, VSWITCH_VXLAN_PORT), no_i_flag), VSWITCH_XDP_CONTROL);
  auto short_frame = vxlan_message(false, 100);
  short_frame.resize(VSWITCH_VXLAN_HEADER_SIZE + 10);
  expect(packet_with(route(false, VSWITCH_VXLAN_PORT), short_frame), VSWITCH_XDP_CONTROL);
  expect(packet(route(false, 9797)), VSWITCH_XDP_NO_SOCKET);  // the tunnel still is
  expect_drop(packet_with(from(route(false, VSWITCH_VXLAN_PORT), "127.0.0.1"), vxlan_message(false, 100)),
              VSWITCH_XDP_BOGUS_SOURCE);
}

TEST_F(XdpSteering, GenericModeSteersOnlyProvablySingleVxlanFrames) {
  load(0, {}, nullptr, htonl(0xc6120001));
  if (skel_ == nullptr) return;
  skel_->bss->generic_mode = 1;
  auto single = vxlan_message(false, 100);
  expect(packet_with(route(false, VSWITCH_VXLAN_PORT), single), VSWITCH_XDP_NO_SOCKET);
  auto train = single;
  train.insert(train.end(), single.begin(), single.end());
  expect(packet_with(route(false, VSWITCH_VXLAN_PORT), train), VSWITCH_XDP_SUPER);
  auto arp = single;
  arp[VSWITCH_VXLAN_HEADER_SIZE + 12] = 0x08;
  arp[VSWITCH_VXLAN_HEADER_SIZE + 13] = 0x06;
  expect(packet_with(route(false, VSWITCH_VXLAN_PORT), arp), VSWITCH_XDP_SUPER);  // no IP length to prove it
}

// The kernel's own source checks never see what XDP steers: the program refuses these itself.
TEST_F(XdpSteering, ImpossibleSourcesAreDroppedAndCounted) {
  for (const char* source : {"0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.255.254", "224.0.0.1", "239.255.255.255",
                             "240.0.0.1", "255.255.255.255"}) {
    SCOPED_TRACE(source);
    expect_drop(packet(from(route(false, 9797), source)), VSWITCH_XDP_BOGUS_SOURCE);
  }
  for (const char* source : {"::", "::1", "ff02::1", "ff0e::1", "::ffff:198.18.0.11", "::ffff:127.0.0.1"}) {
    SCOPED_TRACE(source);
    expect_drop(packet(from(route(true, 9797), source)), VSWITCH_XDP_BOGUS_SOURCE);
  }
  // Every message family, handshakes too: before the program looks at the message at all.
  std::vector<std::uint8_t> initiation(protocol::v2::initiation::kSize, 0);
  initiation[0] = VSWITCH_WIRE_V2;
  initiation[1] = VSWITCH_V2_INITIATION;
  expect_drop(packet_with(from(route(false, 9797), "127.0.0.1"), initiation), VSWITCH_XDP_BOGUS_SOURCE);
  expect_drop(packet(from(route(false, 9797), "224.0.0.1"), kMaxLen), VSWITCH_XDP_BOGUS_SOURCE);  // super-packet
  // Next to the impossible ranges: real senders.
  for (const char* source : {"1.0.0.0", "126.255.255.255", "128.0.0.1", "223.255.255.255", "198.18.0.11"}) {
    SCOPED_TRACE(source);
    expect(packet(from(route(false, 9797), source)), VSWITCH_XDP_NO_SOCKET);
  }
  for (const char* source : {"::2", "fe80::1", "2001:db8::2", "::ffff:1:0:0"}) {
    SCOPED_TRACE(source);
    expect(packet(from(route(true, 9797), source)), VSWITCH_XDP_NO_SOCKET);
  }
}

TEST_F(XdpSteering, OwnAddressIsImpossibleWhenListeningOnOne) {
  expect(packet(from(route(false, 9797, 0xc6120001), "198.18.0.1")), VSWITCH_XDP_NO_SOCKET);  // any-address
  load(htonl(0xc6120001));  // 198.18.0.1
  expect_drop(packet(from(route(false, 9797, 0xc6120001), "198.18.0.1")), VSWITCH_XDP_BOGUS_SOURCE);
  expect(packet(from(route(false, 9797, 0xc6120001), "198.18.0.2")), VSWITCH_XDP_NO_SOCKET);
  load(0, {}, "2001:db8::1");  // the IPv6 route sends to 2001:db8::1
  expect_drop(packet(from(route(true, 9797), "2001:db8::1")), VSWITCH_XDP_BOGUS_SOURCE);
  expect(packet(from(route(true, 9797), "2001:db8::3")), VSWITCH_XDP_NO_SOCKET);
}

// Not for our port: the kernel's business, bogus or not.
TEST_F(XdpSteering, NonTunnelPacketsFromImpossibleSourcesPass) {
  UnderlayPolicy allow_list;
  ASSERT_TRUE(allow_list.add("198.18.0.0/24", UnderlayVerdict::allow));
  load(0, allow_list);
  expect(packet(from(route(false, 22), "127.0.0.1")), VSWITCH_XDP_PASSED);
  expect(packet(from(route(true, 53), "::1")), VSWITCH_XDP_PASSED);
  expect(packet(from(route(false, 22), "198.19.0.1")), VSWITCH_XDP_PASSED);  // not listed either
  auto tcp = packet(from(route(false, 9797), "127.0.0.1"));
  tcp[14 + 9] = 6;
  expect(tcp, VSWITCH_XDP_PASSED);
  auto fragment = packet(from(route(false, 9797), "127.0.0.1"));
  fragment[14 + 6] = 0x20;  // MF: the kernel reassembles, then the slow-path socket judges it
  expect(fragment, VSWITCH_XDP_PASSED);
}

TEST_F(XdpSteering, AllowListDeniesWhatItDoesNotList) {
  UnderlayPolicy allow_list;
  ASSERT_TRUE(allow_list.add("198.18.0.0/24", UnderlayVerdict::allow));
  load(0, allow_list);
  expect(packet(from(route(false, 9797), "198.18.0.11")), VSWITCH_XDP_NO_SOCKET);
  expect_drop(packet(from(route(false, 9797), "198.18.1.11")), VSWITCH_XDP_DENIED_SOURCE);
  expect_drop(packet(from(route(true, 9797), "2001:db8::2")), VSWITCH_XDP_DENIED_SOURCE);
  std::vector<std::uint8_t> hello(32, 0);
  hello[0] = VSWITCH_WIRE_V1;
  hello[1] = VSWITCH_V1_HELLO;
  expect(packet_with(from(route(false, 9797), "198.18.0.12"), hello), VSWITCH_XDP_CONTROL);
  expect_drop(packet_with(from(route(false, 9797), "198.19.0.12"), hello), VSWITCH_XDP_DENIED_SOURCE);
  // Impossible stays impossible even where the list would allow it.
  ASSERT_TRUE(allow_list.add("0.0.0.0/0", UnderlayVerdict::allow));
  load(0, allow_list);
  expect_drop(packet(from(route(false, 9797), "127.0.0.1")), VSWITCH_XDP_BOGUS_SOURCE);
}

TEST_F(XdpSteering, DenyBeatsAShorterAllow) {
  UnderlayPolicy p;
  ASSERT_TRUE(p.add("198.18.0.0/15", UnderlayVerdict::allow));
  ASSERT_TRUE(p.add("198.18.0.0/24", UnderlayVerdict::deny));
  ASSERT_TRUE(p.add("198.18.0.77", UnderlayVerdict::allow));
  load(0, p);
  expect_drop(packet(from(route(false, 9797), "198.18.0.11")), VSWITCH_XDP_DENIED_SOURCE);
  expect(packet(from(route(false, 9797), "198.18.0.77")), VSWITCH_XDP_NO_SOCKET);
  expect(packet(from(route(false, 9797), "198.19.200.1")), VSWITCH_XDP_NO_SOCKET);
  expect_drop(packet(from(route(false, 9797), "198.20.0.1")), VSWITCH_XDP_DENIED_SOURCE);
}

TEST_F(XdpSteering, Ipv6RulesAndTheirFamilyBoundary) {
  UnderlayPolicy p;
  ASSERT_TRUE(p.add("2001:db8::/32", UnderlayVerdict::deny));
  ASSERT_TRUE(p.add("2001:db8:1::/48", UnderlayVerdict::allow));
  load(0, p);
  expect_drop(packet(from(route(true, 9797), "2001:db8::2")), VSWITCH_XDP_DENIED_SOURCE);
  expect(packet(from(route(true, 9797), "2001:db8:1::2")), VSWITCH_XDP_NO_SOCKET);
  expect_drop(packet(from(route(true, 9797), "2001:db9::2")), VSWITCH_XDP_DENIED_SOURCE);  // default deny
  expect_drop(packet(from(route(false, 9797), "198.18.0.11")), VSWITCH_XDP_DENIED_SOURCE);
  // ::/0 covers ::ffff:0:0/96, where IPv4 is keyed, but decides for IPv6 only.
  UnderlayPolicy no_v6;
  ASSERT_TRUE(no_v6.add("::/0", UnderlayVerdict::deny));
  load(0, no_v6);
  expect_drop(packet(from(route(true, 9797), "2001:db8::2")), VSWITCH_XDP_DENIED_SOURCE);
  expect(packet(from(route(false, 9797), "198.18.0.11")), VSWITCH_XDP_NO_SOCKET);
  UnderlayPolicy only_v6;
  ASSERT_TRUE(only_v6.add("::/0", UnderlayVerdict::allow));
  load(0, only_v6);
  expect(packet(from(route(true, 9797), "2001:db8::2")), VSWITCH_XDP_NO_SOCKET);
  expect_drop(packet(from(route(false, 9797), "198.18.0.11")), VSWITCH_XDP_DENIED_SOURCE);
}

// The socket datapath asks UnderlayPolicy::judge, the AF_XDP datapath this program: one answer.
TEST_F(XdpSteering, DecidesLikeTheUnderlayPolicy) {
  const std::vector<std::vector<std::pair<const char*, UnderlayVerdict>>> lists = {
      {},
      {{"198.18.0.0/16", UnderlayVerdict::deny}, {"2001:db8:bad::/48", UnderlayVerdict::deny}},
      {{"198.18.0.0/15", UnderlayVerdict::allow}, {"198.18.7.0/24", UnderlayVerdict::deny},
       {"198.18.7.7", UnderlayVerdict::allow}, {"2001:db8::/32", UnderlayVerdict::allow},
       {"2001:db8:bad::/48", UnderlayVerdict::deny}},
      {{"::/0", UnderlayVerdict::allow}, {"::/1", UnderlayVerdict::deny}},
      {{"0.0.0.0/0", UnderlayVerdict::deny}, {"::/0", UnderlayVerdict::allow}},
  };
  const char* const sources[] = {"198.18.0.1", "198.18.7.1", "198.18.7.7", "198.19.0.1", "198.20.0.1",
                                 "127.0.0.1",  "224.0.0.5",  "2001:db8::5", "2001:db8:bad::5", "2001:db9::5",
                                 "::1",        "ff02::1",    "fe80::1",     "::5"};
  for (std::size_t i = 0; i < lists.size(); ++i) {
    UnderlayPolicy p;
    for (const auto& [prefix, verdict] : lists[i]) ASSERT_TRUE(p.add(prefix, verdict)) << prefix;
    load(0, p);
    for (const char* source : sources) {
      SCOPED_TRACE("list " + std::to_string(i) + ", source " + source);
      const bool v6 = std::strchr(source, ':') != nullptr;
      const auto pkt = packet(from(route(v6, 9797), source));
      switch (p.judge(*Endpoint::parse_numeric(source, 40000))) {
        case SourceJudgement::admitted: expect(pkt, VSWITCH_XDP_NO_SOCKET); break;
        case SourceJudgement::impossible: expect_drop(pkt, VSWITCH_XDP_BOGUS_SOURCE); break;
        case SourceJudgement::denied: expect_drop(pkt, VSWITCH_XDP_DENIED_SOURCE); break;
      }
    }
  }
}
