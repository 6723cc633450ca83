#include "vswitch/tcp_coalescer.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "tcp_frames.hpp"
#include "vswitch/segmenter.hpp"

using namespace vswitch;
using namespace vswitch::testing;

namespace {

struct Written {
  virtio_net::Header vnet;
  std::vector<std::uint8_t> frame;
};

// Feeds frames (copied into stable storage) and returns what would be written to the TAP.
struct Harness {
  std::vector<std::vector<std::uint8_t>> storage;
  TcpCoalescer coalescer{256};

  void add(std::vector<std::uint8_t> f) { storage.push_back(std::move(f)); }
  std::vector<Written> run() {
    std::vector<Written> out;
    for (auto& f : storage) {
      if (coalescer.full()) drain(out);
      coalescer.add(f);
    }
    drain(out);
    storage.clear();
    return out;
  }

  void drain(std::vector<Written>& out) {
    coalescer.finish();
    for (std::size_t i = 0; i < coalescer.packets(); ++i) {
      const auto iov = coalescer.packet(i);
      Written w;
      w.vnet = virtio_net::load({static_cast<const std::uint8_t*>(iov[0].iov_base), iov[0].iov_len});
      for (std::size_t k = 1; k < iov.size(); ++k) {
        const auto* p = static_cast<const std::uint8_t*>(iov[k].iov_base);
        w.frame.insert(w.frame.end(), p, p + iov[k].iov_len);
      }
      out.push_back(std::move(w));
    }
    coalescer.clear();
  }
};

std::vector<std::vector<std::uint8_t>> split_frames(Built b, bool ipv6, std::uint16_t mss) {
  make_partial(b, false);
  Segmenter seg(128);
  const virtio_net::Header h{virtio_net::kFlagNeedsCsum, ipv6 ? virtio_net::kGsoTcpV6 : virtio_net::kGsoTcpV4,
                             0, mss, static_cast<std::uint16_t>(b.l4), 16};
  EXPECT_EQ(seg.split(h, b.frame), SplitError::none);
  std::vector<std::vector<std::uint8_t>> out;
  for (const auto& s : seg.segments()) {
    std::vector<std::uint8_t> f(s.headers.begin(), s.headers.end());
    f.insert(f.end(), s.payload.begin(), s.payload.end());
    out.push_back(std::move(f));
  }
  return out;
}

// A merged packet is a valid super-frame: finishing its partial checksum gives a correct one.
void expect_super_frame(const Written& w, const Built& original, bool ipv6, std::uint16_t mss) {
  EXPECT_EQ(w.vnet.flags, virtio_net::kFlagNeedsCsum);
  EXPECT_EQ(w.vnet.gso_type, ipv6 ? virtio_net::kGsoTcpV6 : virtio_net::kGsoTcpV4);
  EXPECT_EQ(w.vnet.gso_size, mss);
  EXPECT_EQ(w.vnet.csum_start, original.l4);
  EXPECT_EQ(w.vnet.csum_offset, 16);
  EXPECT_EQ(w.vnet.hdr_len, original.header_size);
  // coalesce(split(x)) == x: even the IP ID (the head keeps the first) and the checksums.
  auto want = original;
  make_partial(want, false);
  EXPECT_EQ(w.frame, want.frame);
}

}  // namespace

TEST(TcpCoalescer, CoalesceOfSplitIsTheOriginal) {
  for (bool ipv6 : {false, true}) {
    for (int tags : {0, 1, 2}) {
      FrameSpec spec;
      spec.ipv6 = ipv6;
      spec.tags = tags;
      spec.payload = 60000;
      const Built b = build_frame(spec);
      Harness h;
      for (auto& f : split_frames(b, ipv6, 1348)) h.add(std::move(f));
      const auto out = h.run();
      ASSERT_EQ(out.size(), 1u) << ipv6 << tags;
      expect_super_frame(out[0], b, ipv6, 1348);
      EXPECT_EQ(h.coalescer.stats().merged_segments, 45u);
    }
  }
}

TEST(TcpCoalescer, SingleSegmentsPassWithDataValidOrUntouched) {
  Harness h;
  h.add(build_frame({}).frame);
  std::vector<std::uint8_t> arp(42, 0xff);
  arp[12] = 0x08;
  arp[13] = 0x06;
  h.add(arp);
  const auto out = h.run();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].vnet.flags, virtio_net::kFlagDataValid);
  EXPECT_EQ(out[0].frame, build_frame({}).frame);
  EXPECT_EQ(out[1].vnet, virtio_net::Header{});
  EXPECT_EQ(out[1].frame, arp);
}

TEST(TcpCoalescer, InterleavedFlowsMergeSeparatelyAndKeepTheirOrder) {
  FrameSpec a, b;
  a.payload = b.payload = 4000;
  b.src_last = 9;
  b.payload_seed = 2;
  const auto fa = split_frames(build_frame(a), false, 1000);
  const auto fb = split_frames(build_frame(b), false, 1000);
  Harness h;
  for (std::size_t i = 0; i < 4; ++i) {
    h.add(fa[i]);
    h.add(fb[i]);
  }
  const auto out = h.run();
  ASSERT_EQ(out.size(), 2u);
  expect_super_frame(out[0], build_frame(a), false, 1000);
  expect_super_frame(out[1], build_frame(b), false, 1000);
}

TEST(TcpCoalescer, RefusesWhatIsNotProvablySafe) {
  FrameSpec base;
  base.payload = 1000;
  base.flags = 0x10;
  auto segment = [&](std::uint32_t index, auto&& tweak) {
    FrameSpec s = base;
    s.seq = 1000 + 1000 * index;
    s.ip_id = static_cast<std::uint16_t>(100 + index);
    tweak(s);
    return build_frame(s).frame;
  };
  auto none = [](FrameSpec&) {};
  struct Case {
    const char* name;
    std::function<void(FrameSpec&)> second;
  };
  const std::vector<Case> cases = {
      {"out of order", [](FrameSpec& s) { s.seq += 1; }},
      {"different TTL", [](FrameSpec& s) { s.ttl = 63; }},
      {"different ToS (ECN CE)", [](FrameSpec& s) { s.tos = 3; }},
      {"different DF", [](FrameSpec& s) { s.df = false; }},
      {"different ACK number", [](FrameSpec& s) { s.ack += 1; }},
      {"different TCP options", [](FrameSpec& s) { s.tcp_options = 0; }},
      {"FIN", [](FrameSpec& s) { s.flags = 0x11; }},
      {"SYN", [](FrameSpec& s) { s.flags = 0x12; }},
      {"RST", [](FrameSpec& s) { s.flags = 0x14; }},
      {"URG", [](FrameSpec& s) { s.flags = 0x30; }},
      {"CWR", [](FrameSpec& s) { s.flags = 0x90; }},
      {"ECE", [](FrameSpec& s) { s.flags = 0x50; }},
      {"larger than the first", [](FrameSpec& s) { s.payload = 1001; }},
      {"IPv4 options", [](FrameSpec& s) { s.ip_options = 4; }},
  };
  for (const auto& c : cases) {
    Harness h;
    h.add(segment(0, none));
    h.add(segment(1, c.second));
    EXPECT_EQ(h.run().size(), 2u) << c.name;
  }
  {
    Harness h;  // PSH ends a merge: nothing after it joins
    h.add(segment(0, none));
    h.add(segment(1, [](FrameSpec& s) { s.flags = 0x18; }));
    h.add(segment(2, none));
    const auto out = h.run();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].vnet.gso_type, virtio_net::kGsoTcpV4);
    EXPECT_EQ(out[0].frame[14 + 20 + 13] & 0x08, 0x08);  // PSH carried to the merged head
  }
  {
    Harness h;  // a shorter segment ends a merge
    h.add(segment(0, none));
    h.add(segment(1, [](FrameSpec& s) { s.payload = 500; }));
    h.add(segment(2, [](FrameSpec& s) { s.seq -= 500; }));
    EXPECT_EQ(h.run().size(), 2u);
  }
  {
    Harness h;  // IPv6 extension headers, differing hop limit
    FrameSpec v6 = base;
    v6.ipv6 = true;
    v6.ipv6_hop_by_hop = true;
    h.add(build_frame(v6).frame);
    v6.seq += 1000;
    h.add(build_frame(v6).frame);
    EXPECT_EQ(h.run().size(), 2u);
    v6.ipv6_hop_by_hop = false;
    h.add(build_frame(v6).frame);
    v6.seq += 1000;
    v6.ttl = 1;
    h.add(build_frame(v6).frame);
    EXPECT_EQ(h.run().size(), 2u);
  }
  {
    Harness h;  // a bad checksum is never merged, and counted
    h.add(segment(0, none));
    auto bad = segment(1, none);
    bad.back() ^= 0x55;
    h.add(bad);
    EXPECT_EQ(h.run().size(), 2u);
    EXPECT_EQ(h.coalescer.stats().bad_checksum, 1u);
  }
  {
    Harness h;  // a FIN of the flow closes it: a later segment cannot jump ahead of the FIN
    h.add(segment(0, none));
    h.add(segment(1, [](FrameSpec& s) { s.flags = 0x11; s.payload = 0; }));
    h.add(segment(1, none));
    EXPECT_EQ(h.run().size(), 3u);
  }
}

TEST(TcpCoalescer, StopsAtTheIpLengthLimit) {
  FrameSpec s;
  s.payload = 1400;
  s.flags = 0x10;
  Harness h;
  for (std::uint32_t i = 0; i < 50; ++i) {
    s.seq = 1000 + 1400 * i;
    h.add(build_frame(s).frame);
  }
  const auto out = h.run();
  ASSERT_EQ(out.size(), 2u);
  const std::size_t headers = 14 + 20 + 32;
  EXPECT_EQ(out[0].frame.size() - headers, 46u * 1400);  // 47 would pass 65,535 bytes of IP
  EXPECT_EQ(out[1].frame.size() - headers, 4u * 1400);
}

TEST(TcpCoalescer, SurvivesTruncatedAndGarbageFrames) {
  const Built b = build_frame({});
  Harness h;
  for (std::size_t n = 0; n <= b.frame.size(); ++n)
    h.add(std::vector<std::uint8_t>(b.frame.begin(), b.frame.begin() + static_cast<long>(n)));
  const auto out = h.run();
  EXPECT_EQ(out.size(), b.frame.size() + 1);  // all passed through, none merged
}

// Interleaved flows merge while the coalescer can track them all (12), and with more than it
// tracks (24: round-robin arrivals evict every flow before its next segment) none is
// reordered or loses a byte.
TEST(TcpCoalescer, ManyInterleavedFlowsKeepEveryByteInOrder) {
  constexpr int kSegments = 4;
  for (const int flows_count : {12, 24}) {
    auto spec = [](int f) {
      FrameSpec s;
      s.payload = 4000;
      s.src_last = static_cast<std::uint8_t>(10 + f);
      s.payload_seed = static_cast<std::uint32_t>(f + 1);
      return s;
    };
    std::vector<std::vector<std::vector<std::uint8_t>>> flows;
    for (int f = 0; f < flows_count; ++f) flows.push_back(split_frames(build_frame(spec(f)), false, 1000));
    Harness h;
    for (int i = 0; i < kSegments; ++i)
      for (int f = 0; f < flows_count; ++f) h.add(flows[static_cast<std::size_t>(f)][static_cast<std::size_t>(i)]);
    const auto out = h.run();
    if (flows_count == 12) {
      EXPECT_EQ(out.size(), 12u);
    }
    for (int f = 0; f < flows_count; ++f) {
      const Built original = build_frame(spec(f));
      std::vector<std::uint8_t> payload;
      for (const auto& w : out)
        if (w.frame.size() > original.header_size && w.frame[11] == original.frame[11])
          payload.insert(payload.end(), w.frame.begin() + static_cast<long>(original.header_size), w.frame.end());
      EXPECT_TRUE(std::equal(payload.begin(), payload.end(),
                             original.frame.begin() + static_cast<long>(original.header_size), original.frame.end()) &&
                  payload.size() == 4000u)
          << flows_count << " flows, flow " << f;
    }
  }
}
