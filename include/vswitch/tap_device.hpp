// A Linux TAP interface (IFF_TAP | IFF_NO_PI) owned by this process: it exists while the
// object lives and disappears when the file descriptor is closed (the device is not persistent).
//
// With offloads requested it is opened with a virtio-net header (IFF_VNET_HDR) before every
// frame and told (TUNSETOFFLOAD) that we finish checksums and segment TSO/USO super-frames
// ourselves, so the kernel hands over 64 KB TCP frames instead of MTU-sized ones. Each feature
// is probed: whatever the kernel refuses is simply not used, down to the plain per-frame TAP.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vswitch/mac_addr.hpp"
#include "vswitch/result.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch {

class TapDevice {
 public:
  // `name` empty lets the kernel pick "vportN". Fails with a clear message when the name is
  // taken, /dev/net/tun is missing, or the caller lacks CAP_NET_ADMIN.
  // `offloads`: ask for the virtio-net header and checksum/TSO offloads, and USO when `uso`.
  // `queues` > 1 opens a multi-queue TAP (IFF_MULTI_QUEUE): one fd per queue; the kernel
  // spreads the flows it sends out over the queues, by the queue that last wrote each flow.
  static Result<TapDevice> create(const std::string& name, bool offloads = false, bool uso = true,
                                  unsigned queues = 1);

  int fd() const noexcept { return fds_[0].get(); }
  int queue_fd(std::size_t queue) const noexcept { return fds_[queue].get(); }
  std::size_t queues() const noexcept { return fds_.size(); }
  const std::string& name() const noexcept { return name_; }
  // Every read and write carries a virtio_net::Header in front of the frame.
  bool vnet_header() const noexcept { return vnet_header_; }
  // TUNSETOFFLOAD bits the kernel accepted (TUN_F_CSUM, TSO4/6, USO4/6).
  unsigned offloads() const noexcept { return offloads_; }
  // "csum tso4 tso6 uso4 uso6", "none", or "no vnet header".
  std::string offload_summary() const;

  Status set_mtu(unsigned mtu);
  Status set_mac(const MacAddr& mac);
  Result<MacAddr> mac() const;
  // IPv4 "A.B.C.D/N" or IPv6 "X::Y/N".
  Status add_address(const std::string& cidr);
  Status set_up();

 private:
  std::vector<UniqueFd> fds_;  // one per queue
  std::string name_;
  bool vnet_header_ = false;
  unsigned offloads_ = 0;
};

}  // namespace vswitch
