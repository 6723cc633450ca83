// TSO/USO in userspace: cuts a super-frame read from a TAP with a virtio-net header into the
// MTU-sized Ethernet frames the tunnel carries (one frame per datagram, as on a real wire).
// Each segment gets its own copy of the headers with IP length/ID/checksum and TCP sequence,
// flags and checksum (or UDP length and checksum) made right; payloads are not copied, they
// are slices of the super-frame. A non-GSO frame whose checksum the kernel left partial is
// finished in place. The header's own hdr_len is never trusted: lengths come from the packet.
// Pure and allocation-free after construction; unit-tested and fuzzed directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vswitch/virtio_net.hpp"

namespace vswitch {

enum class SplitError : std::uint8_t {
  none,
  bad_vnet_header,    // flags, offsets or GSO type inconsistent with the frame
  unsupported,        // a GSO type we did not ask for (UFO) or IP fragments under GSO
  too_many_segments,  // more than the segmenter was sized for
};
const char* to_string(SplitError e) noexcept;

struct Segment {
  std::span<const std::uint8_t> headers;  // Ethernet .. transport header (empty for whole frames)
  std::span<const std::uint8_t> payload;  // slice of the super-frame, or the whole frame
};

class Segmenter {
 public:
  // Headers longer than this (deep IPv6 extension chains) are refused as bad_vnet_header.
  static constexpr std::size_t kMaxHeaderSize = 192;

  explicit Segmenter(std::size_t max_segments);

  // `frame` is what followed the virtio-net header. On success segments() holds one or more
  // segments that stay valid until the next call and while `frame` is unchanged.
  SplitError split(const virtio_net::Header& vnet, std::span<std::uint8_t> frame) noexcept;
  std::span<const Segment> segments() const noexcept { return {segments_.data(), count_}; }

 private:
  SplitError split_gso(const virtio_net::Header& vnet, std::span<std::uint8_t> frame, bool tcp) noexcept;

  std::vector<std::uint8_t> headers_;
  std::vector<Segment> segments_;
  std::size_t count_ = 0;
};

}  // namespace vswitch
