// The steering XDP program (bpf/vswitch_xdp.bpf.c) loaded from its skeleton and attached to
// one interface through a BPF link. A link detaches when its last fd closes, so the program
// leaves with the process on every path, kill -9 included; the destructor closes it earlier.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "vswitch/bpf_abi.h"
#include "vswitch/endpoint.hpp"
#include "vswitch/result.hpp"
#include "vswitch/underlay_policy.hpp"

struct vswitch_xdp;  // generated skeleton

namespace vswitch {

enum class XdpMode { native, generic, auto_select };

class XdpProgram {
 public:
  // Loads the program for tunnel packets to `listen` (its port, and its address unless it is
  // the any-address) and attaches it to `ifname`. With auto_select, native is tried first and
  // generic (skb) mode is the fallback. A stale vswitch program attached the legacy way (by a
  // crashed older run) is replaced; any other program on the interface is an error.
  // Tunnel packets longer than `max_packet` (what a UMEM frame holds) are left to the kernel.
  // Tunnel packets from sources `policy` refuses are dropped: its rules fill the program's trie
  // before the program is attached, so no packet is ever judged by a partial list. The program
  // judges our own address by `listen`; the policy's own address should be the same.
  // EVPN: with `vxlan` (the VTEP address and VXLAN port), VXLAN from the other servers is steered too.
  static Result<XdpProgram> attach(const std::string& ifname, const Endpoint& listen, XdpMode mode,
                                   std::uint32_t max_packet, const UnderlayPolicy& policy,
                                   const Endpoint* vxlan = nullptr);

  XdpProgram(XdpProgram&&) noexcept;
  XdpProgram& operator=(XdpProgram&&) noexcept;
  ~XdpProgram();

  int ifindex() const noexcept { return ifindex_; }
  bool native() const noexcept { return native_; }
  int xsk_map_fd() const noexcept;
  // Counters summed over CPUs, indexed by enum vswitch_xdp_counter.
  std::array<std::uint64_t, VSWITCH_XDP_COUNTER_COUNT> counters() const;

 private:
  XdpProgram() = default;
  void release() noexcept;

  vswitch_xdp* skel_ = nullptr;
  int link_fd_ = -1;
  int ifindex_ = 0;
  bool native_ = false;
};

// Routes libbpf and libxdp messages through the project's logger.
void route_bpf_logs_to_logger();

}  // namespace vswitch
