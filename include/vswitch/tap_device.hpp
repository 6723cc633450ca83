// A Linux TAP interface (IFF_TAP | IFF_NO_PI) owned by this process: it exists while the
// object lives and disappears when the file descriptor is closed (the device is not persistent).
#pragma once

#include <cstdint>
#include <string>

#include "vswitch/mac_addr.hpp"
#include "vswitch/result.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch {

class TapDevice {
 public:
  // `name` empty lets the kernel pick "vportN". Fails with a clear message when the name is
  // taken, /dev/net/tun is missing, or the caller lacks CAP_NET_ADMIN.
  static Result<TapDevice> create(const std::string& name);

  int fd() const noexcept { return fd_.get(); }
  const std::string& name() const noexcept { return name_; }

  Status set_mtu(unsigned mtu);
  Status set_mac(const MacAddr& mac);
  Result<MacAddr> mac() const;
  // IPv4 "A.B.C.D/N" or IPv6 "X::Y/N".
  Status add_address(const std::string& cidr);
  Status set_up();

 private:
  UniqueFd fd_;
  std::string name_;
};

}  // namespace vswitch
