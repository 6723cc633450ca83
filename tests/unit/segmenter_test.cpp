#include "vswitch/segmenter.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "tcp_frames.hpp"
#include "vswitch/checksum.hpp"

using namespace vswitch;
using namespace vswitch::testing;

namespace {

virtio_net::Header tso_header(const Built& b, bool ipv6, std::uint16_t mss) {
  return {virtio_net::kFlagNeedsCsum, ipv6 ? virtio_net::kGsoTcpV6 : virtio_net::kGsoTcpV4,
          static_cast<std::uint16_t>(b.header_size), mss, static_cast<std::uint16_t>(b.l4), 16};
}

std::vector<std::uint8_t> joined(const Segment& s) {
  std::vector<std::uint8_t> out(s.headers.begin(), s.headers.end());
  out.insert(out.end(), s.payload.begin(), s.payload.end());
  return out;
}

std::uint16_t be16(const std::vector<std::uint8_t>& f, std::size_t at) {
  return static_cast<std::uint16_t>(f[at] << 8 | f[at + 1]);
}
std::uint32_t be32(const std::vector<std::uint8_t>& f, std::size_t at) {
  return std::uint32_t{be16(f, at)} << 16 | be16(f, at + 2);
}

// Every checksum of a segment, against the naive reference: IPv4 header, and TCP or UDP.
void expect_valid_checksums(const std::vector<std::uint8_t>& f, std::size_t l3, std::size_t l4, bool udp) {
  const bool v6 = (f[l3] >> 4) == 6;
  if (!v6) {
    EXPECT_EQ(reference_sum({&f[l3], l4 - l3}), 0xffff);
  }
  Built b;
  b.frame = f;
  b.l3 = l3;
  b.l4 = l4;
  const std::size_t l4_length = f.size() - l4;
  EXPECT_EQ(reference_sum({&f[l4], l4_length}, pseudo_sum(b, l4_length, udp ? 17 : 6)), 0xffff);
}

}  // namespace

TEST(Checksum, MatchesNaiveReferenceAtEveryLengthAndSplit) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> data(3000);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng());
  for (std::size_t n : {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1499, 1500, 2999, 3000}) {
    const auto span = std::span<const std::uint8_t>(data).first(n);
    EXPECT_EQ(checksum::fold(checksum::add(0, span)), reference_sum(span)) << n;
    // Split at an even offset: partial sums combine.
    const std::size_t cut = n / 4 * 2;
    EXPECT_EQ(checksum::fold(checksum::add(checksum::add(0, span.first(cut)), span.subspan(cut))),
              reference_sum(span))
        << n;
  }
  EXPECT_EQ(checksum::fold(checksum::add(0xfffe, std::vector<std::uint8_t>(4, 0xff))), 0xfffe);
}

TEST(Segmenter, SplitsIpv4SuperFrameLikeHardwareTso) {
  FrameSpec spec;
  spec.payload = 64000;
  spec.flags = 0x19 | 0x80;  // ACK|PSH|FIN|CWR: PSH and FIN only on the last, CWR on the first
  Built b = build_frame(spec);
  make_partial(b, false);
  Segmenter seg(64);
  ASSERT_EQ(seg.split(tso_header(b, false, 1348), b.frame), SplitError::none);
  const auto segments = seg.segments();
  ASSERT_EQ(segments.size(), (64000u + 1347) / 1348);
  std::vector<std::uint8_t> payload;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto f = joined(segments[i]);
    const bool last = i + 1 == segments.size();
    EXPECT_EQ(f.size(), b.header_size + (last ? 64000 - 1348 * i : 1348));
    EXPECT_EQ(be16(f, b.l3 + 2), f.size() - b.l3);
    EXPECT_EQ(be16(f, b.l3 + 4), 100 + i);
    EXPECT_EQ(be32(f, b.l4 + 4), 1000 + 1348 * i);
    const std::uint8_t flags = f[b.l4 + 13];
    EXPECT_EQ((flags & 0x09) != 0, last) << i;
    EXPECT_EQ((flags & 0x80) != 0, i == 0) << i;
    EXPECT_EQ(flags & 0x10, 0x10);
    expect_valid_checksums(f, b.l3, b.l4, false);
    payload.insert(payload.end(), segments[i].payload.begin(), segments[i].payload.end());
  }
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), b.frame.begin() + static_cast<long>(b.header_size)));
}

TEST(Segmenter, SplitsIpv6TaggedAndExtensionHeaderFrames) {
  for (int tags : {0, 1, 2}) {
    for (bool hbh : {false, true}) {
      FrameSpec spec;
      spec.ipv6 = true;
      spec.tags = tags;
      spec.ipv6_hop_by_hop = hbh;
      spec.payload = 5000;
      Built b = build_frame(spec);
      make_partial(b, false);
      Segmenter seg(64);
      ASSERT_EQ(seg.split(tso_header(b, true, 1328), b.frame), SplitError::none) << tags << hbh;
      ASSERT_EQ(seg.segments().size(), 4u);
      for (const auto& s : seg.segments()) {
        const auto f = joined(s);
        EXPECT_EQ(be16(f, b.l3 + 4), f.size() - b.l3 - 40);
        expect_valid_checksums(f, b.l3, b.l4, false);
      }
    }
  }
}

TEST(Segmenter, NeverTrustsHdrLen) {
  FrameSpec spec;
  spec.payload = 4000;
  Built b = build_frame(spec);
  make_partial(b, false);
  Segmenter seg(64);
  auto reference_header = tso_header(b, false, 1000);
  ASSERT_EQ(seg.split(reference_header, b.frame), SplitError::none);
  std::vector<std::vector<std::uint8_t>> want;
  for (const auto& s : seg.segments()) want.push_back(joined(s));
  for (int lie : {0, 14, 30, 65535}) {
    auto h = reference_header;
    h.hdr_len = static_cast<std::uint16_t>(lie);
    ASSERT_EQ(seg.split(h, b.frame), SplitError::none) << lie;
    ASSERT_EQ(seg.segments().size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(joined(seg.segments()[i]), want[i]);
  }
}

TEST(Segmenter, SplitsUdpL4PerDatagram) {
  FrameSpec spec;
  spec.udp = true;
  spec.payload = 3000;
  Built b = build_frame(spec);
  make_partial(b, true);
  Segmenter seg(64);
  const virtio_net::Header h{virtio_net::kFlagNeedsCsum, virtio_net::kGsoUdpL4, 0, 1200,
                             static_cast<std::uint16_t>(b.l4), 6};
  ASSERT_EQ(seg.split(h, b.frame), SplitError::none);
  ASSERT_EQ(seg.segments().size(), 3u);
  for (const auto& s : seg.segments()) {
    const auto f = joined(s);
    EXPECT_EQ(be16(f, b.l4 + 4), f.size() - b.l4);
    expect_valid_checksums(f, b.l3, b.l4, true);
  }
}

TEST(Segmenter, FinishesPartialChecksumOfSingleFrames) {
  for (bool udp : {false, true}) {
    FrameSpec spec;
    spec.udp = udp;
    spec.payload = 333;  // odd: the padding byte matters
    Built b = build_frame(spec);
    const auto complete = b.frame;
    make_partial(b, udp);
    Segmenter seg(4);
    const virtio_net::Header h{virtio_net::kFlagNeedsCsum, virtio_net::kGsoNone, 0, 0,
                               static_cast<std::uint16_t>(b.l4), static_cast<std::uint16_t>(udp ? 6 : 16)};
    ASSERT_EQ(seg.split(h, b.frame), SplitError::none);
    ASSERT_EQ(seg.segments().size(), 1u);
    EXPECT_EQ(joined(seg.segments()[0]), complete);
  }
  // Without NEEDS_CSUM the frame passes untouched.
  Built b = build_frame({});
  const auto before = b.frame;
  Segmenter seg(4);
  ASSERT_EQ(seg.split({}, b.frame), SplitError::none);
  EXPECT_EQ(joined(seg.segments()[0]), before);
}

TEST(Segmenter, RefusesBogusVnetHeaders) {
  FrameSpec spec;
  spec.payload = 4000;
  Built b = build_frame(spec);
  make_partial(b, false);
  Segmenter seg(64);
  const auto good = tso_header(b, false, 1000);
  auto expect = [&](virtio_net::Header h, std::span<std::uint8_t> frame, SplitError e, const char* what) {
    EXPECT_EQ(seg.split(h, frame), e) << what;
  };
  struct Case {
    const char* what;
    std::function<void(virtio_net::Header&)> mutate;
    SplitError want;
  };
  const std::vector<Case> cases = {
      {"csum_start not at TCP", [&](auto& h) { h.csum_start = static_cast<std::uint16_t>(b.l4 + 4); },
       SplitError::bad_vnet_header},
      {"csum_offset", [](auto& h) { h.csum_offset = 6; }, SplitError::bad_vnet_header},
      {"gso_size 0", [](auto& h) { h.gso_size = 0; }, SplitError::bad_vnet_header},
      {"v6 type on v4 frame", [](auto& h) { h.gso_type = virtio_net::kGsoTcpV6; }, SplitError::bad_vnet_header},
      {"GSO without NEEDS_CSUM", [](auto& h) { h.flags = 0; }, SplitError::bad_vnet_header},
      {"UFO", [](auto& h) { h.gso_type = 3; }, SplitError::unsupported},
      {"400 segments", [](auto& h) { h.gso_size = 10; }, SplitError::too_many_segments},
  };
  for (const auto& c : cases) {
    auto h = good;
    c.mutate(h);
    expect(h, b.frame, c.want, c.what);
  }
  for (std::size_t n = 0; n < b.header_size; ++n)
    expect(good, std::span<std::uint8_t>(b.frame).first(n), SplitError::bad_vnet_header, "truncated");
  expect({virtio_net::kFlagNeedsCsum, 0, 0, 0, 60, 16}, std::span<std::uint8_t>(b.frame).first(70),
         SplitError::bad_vnet_header, "csum field past end");
  FrameSpec frag = spec;
  frag.df = false;
  Built f = build_frame(frag);
  put16(f.frame, f.l3 + 6, 0x2000);  // MF
  make_partial(f, false);
  expect(tso_header(f, false, 1000), f.frame, SplitError::unsupported, "fragment");
}
