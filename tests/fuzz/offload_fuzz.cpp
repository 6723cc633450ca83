// libFuzzer target for the client's offload parsers: the input is what a TAP read returns
// (virtio-net header + frame). It is split by the Segmenter; the segments, and the raw frame
// itself, go through the TcpCoalescer. Memory errors are caught by the sanitizers; the
// invariants below by abort().
#include <cstdlib>
#include <cstring>
#include <vector>

#include "vswitch/segmenter.hpp"
#include "vswitch/tcp_coalescer.hpp"

using namespace vswitch;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < virtio_net::kHeaderSize) return 0;
  static Segmenter segmenter(128);
  static TcpCoalescer coalescer(130);
  const auto vnet = virtio_net::load({data, virtio_net::kHeaderSize});
  std::vector<std::uint8_t> frame(data + virtio_net::kHeaderSize, data + size);
  std::vector<std::uint8_t> raw = frame;

  std::vector<std::vector<std::uint8_t>> segments;
  std::size_t in_bytes = 0;
  if (segmenter.split(vnet, frame) == SplitError::none) {
    check(!segmenter.segments().empty());
    for (const auto& s : segmenter.segments()) {
      check(s.headers.size() <= frame.size() && s.payload.size() <= frame.size());
      std::vector<std::uint8_t> f(s.headers.begin(), s.headers.end());
      f.insert(f.end(), s.payload.begin(), s.payload.end());
      in_bytes += f.size();
      segments.push_back(std::move(f));
    }
  }
  for (auto& s : segments) coalescer.add(s);
  coalescer.add(raw);
  in_bytes += raw.size();
  coalescer.finish();
  std::size_t out_bytes = 0;
  for (std::size_t i = 0; i < coalescer.packets(); ++i) {
    const auto iov = coalescer.packet(i);
    check(iov.size() >= 2 && iov[0].iov_len == virtio_net::kHeaderSize);
    std::size_t packet = 0;
    for (std::size_t k = 1; k < iov.size(); ++k) packet += iov[k].iov_len;
    const auto h = virtio_net::load({static_cast<const std::uint8_t*>(iov[0].iov_base), iov[0].iov_len});
    if (h.gso_type != virtio_net::kGsoNone) check(packet <= 65535 + 22 && h.gso_size > 0);
    out_bytes += packet;
  }
  // Merging drops only the repeated headers: never more bytes out than in.
  check(out_bytes <= in_bytes);
  coalescer.clear();
  return 0;
}
