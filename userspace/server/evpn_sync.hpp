// EVPN (docs/architecture.md, "EVPN"): the thread between the switch and FRR. FRR's zebra learns
// local MACs only from a kernel bridge's FDB and writes remote ones only into a kernel VXLAN
// device's FDB, so each network that takes part gets shadow objects that carry no data: a
// bridge vsbrVNI, a VXLAN device vsvxVNI (no learning, our VTEP address, a UDP port of its own
// so that it never takes the switch's VXLAN traffic) and a TAP vstpVNI as a port of the bridge.
//  - local -> BGP: MACs the switch learns on its ports (the table's change log) become dynamic
//    FDB entries on the TAP; entries that age or whose port goes are deleted. The TAP lives
//    with this process's file descriptor, so even after kill -9 it goes, its entries with it,
//    and zebra withdraws the routes.
//  - BGP -> local: the VXLAN devices' FDB (notifications of RTNLGRP_NEIGH, and a dump at first):
//    a MAC with a destination is behind that VTEP, the zero MAC with one puts the VTEP on the
//    network's flood list. Applied to the switch under its lock, in bounded batches.
// Netlink never runs under the switch lock; the lock is taken to copy changes out or apply a
// batch in. Stale shadow objects (a crashed run's) are removed at start, ours at exit.
#pragma once

#include <atomic>
#include <cstring>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "shared_switch.hpp"
#include "vswitch/metrics.hpp"
#include "vswitch/netlink.hpp"
#include "vswitch/report.hpp"
#include "vswitch/tap_device.hpp"

namespace vswitch {

struct EvpnOptions {
  Endpoint vtep;                        // our VTEP address (the port is the VXLAN port)
  std::uint16_t shadow_port = 4790;     // the kernel VXLAN devices' own port (they carry no data)
  std::map<std::uint64_t, std::uint32_t> vnis;  // networks mapped explicitly; else the low 24 bits
};

// The VNI a network runs on.
std::uint32_t evpn_vni_of(const EvpnOptions& options, std::uint64_t network) noexcept;

class EvpnSync {
 public:
  static constexpr std::size_t kChangeLogSize = 65536;

  // Netlink sockets, and the stale shadow objects of an earlier run removed. Gives the switch its
  // change log (before any port exists).
  static Result<std::unique_ptr<EvpnSync>> open(const EvpnOptions& options, SharedSwitch& sw);
  ~EvpnSync();  // stop(), then the shadow objects go
  // Makes the shadow objects of networks known in advance (the members file's) now, so that
  // their VNIs are in BGP before anyone joins; others follow with their first port.
  Status start(const std::vector<std::uint64_t>& networks);
  void stop() noexcept;
  void describe(metrics::Samples& out) const;
  report::Facts facts() const;

 private:
  EvpnSync(const EvpnOptions& options, SharedSwitch& sw, netlink::Socket requests, netlink::Socket events);
  struct Shadow {
    std::uint64_t network = 0;
    std::uint32_t vni = 0;
    int bridge = 0, vxlan = 0, tap_index = 0;
    TapDevice tap;
  };
  struct Remote {  // a route as the kernel has it
    std::uint64_t network;
    std::uint64_t mac;  // 0: the flood list
    Endpoint vtep;
    bool operator<(const Remote& o) const noexcept {
      if (network != o.network) return network < o.network;
      if (mac != o.mac) return mac < o.mac;
      if (vtep.size() != o.vtep.size()) return vtep.size() < o.vtep.size();
      return std::memcmp(vtep.sockaddr_ptr(), o.vtep.sockaddr_ptr(), vtep.size()) < 0;
    }
  };
  void run() noexcept;
  void cycle();
  Shadow* ensure_shadow(std::uint64_t network);
  void remove_shadow(Shadow& s) noexcept;
  void on_kernel_fdb(const netlink::FdbEntry& e, std::vector<std::pair<Remote, bool>>& updates);
  void resync_remote(std::vector<std::pair<Remote, bool>>& updates);
  void apply_remote(const std::vector<std::pair<Remote, bool>>& updates);
  void write_local(const std::vector<FdbChange>& changes);
  void resync_local();

  EvpnOptions options_;
  SharedSwitch& sw_;
  netlink::Socket requests_;  // links, entries (acknowledged or posted)
  netlink::Socket events_;    // RTNLGRP_NEIGH
  FdbChangeLog changes_;
  std::map<std::uint64_t, Shadow> shadows_;          // by network
  std::unordered_map<int, std::uint64_t> by_vxlan_;  // VXLAN ifindex -> network
  std::map<std::uint32_t, std::uint64_t> vni_taken_;  // VNI -> network (one each)
  std::set<std::uint64_t> refused_networks_;         // a VNI clash: said once
  std::set<Remote> remote_;                          // routes applied to the switch
  std::set<std::pair<std::uint64_t, std::uint64_t>> local_;  // (network, MAC) written to the kernel
  std::thread thread_;
  std::atomic<bool> stop_{false};
  Counter networks_, local_writes_, remote_updates_, resyncs_, netlink_errors_;
};

}  // namespace vswitch
