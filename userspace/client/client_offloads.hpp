// Which of vport's data-path accelerations are on. All are on by default; each can be turned
// off for debugging and for the ablation ladder in docs/benchmarks.md.
#pragma once

#include <string>

namespace vswitch {

struct ClientOffloads {
  bool tap_offloads = true;  // virtio-net header + TSO/USO on the TAP, split in userspace
  bool udp_gso = true;       // send segment trains with one UDP_SEGMENT sendmsg
  bool udp_gro = true;       // receive merged datagram trains (UDP_GRO)
  bool coalesce = true;      // merge TCP segments into one TAP write (needs tap_offloads)
  bool batching = true;      // recvmmsg/sendmmsg; off: one syscall per datagram
  bool tx_thread = false;    // TAP -> server on a thread of its own (slower on 2 cores)

  std::string summary() const {
    std::string s;
    auto add = [&](bool on, const char* name) { s += std::string(s.empty() ? "" : " ") + (on ? "+" : "-") + name; };
    add(tap_offloads, "tap-offloads");
    add(udp_gso, "udp-gso");
    add(udp_gro, "udp-gro");
    add(coalesce, "coalesce");
    add(batching, "batching");
    add(tx_thread, "tx-thread");
    return s;
  }
};

}  // namespace vswitch
