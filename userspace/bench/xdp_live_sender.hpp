// The generator's in-kernel transmit path: BPF_PROG_RUN in live-frames mode runs a two-
// instruction XDP program ("return XDP_TX") on copies of one template packet and the kernel
// sends each copy out of the device as an XDP frame. No skb and no socket on either side of a
// veth pair, so the switch receives as from a NIC driver, and the sender's costs (skb
// destructors, socket accounting) stay on the sender's core instead of being charged to
// the receiver that frees its buffers. Frames are identical copies: for throughput, not latency.
// A veth takes XDP frames only when its peer has NAPI (GRO on, or an XDP program); otherwise
// the kernel refuses them before any counter sees them.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vswitch/result.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch::bench {

class XdpLiveSender {
 public:
  static Result<XdpLiveSender> open(const std::string& iface);
  // Sends `count` copies of a whole Ethernet frame; the kernel works in batches of 64.
  Status send(std::span<const std::uint8_t> frame, std::uint32_t count) noexcept;

 private:
  XdpLiveSender(UniqueFd prog, int ifindex) : prog_(std::move(prog)), ifindex_(ifindex) {}
  UniqueFd prog_;
  int ifindex_;
};

}  // namespace vswitch::bench
