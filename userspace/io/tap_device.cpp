#include "vswitch/tap_device.hpp"

#include "vswitch/log.hpp"
#include "vswitch/virtio_net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace vswitch {
namespace {

// The kernel's struct in6_ifreq (linux/ipv6.h clashes with netinet/in.h, so it is restated).
struct In6Ifreq {
  in6_addr addr;
  std::uint32_t prefixlen;
  int ifindex;
};

Result<UniqueFd> ioctl_socket(int family) {
  UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket for interface configuration");
  return fd;
}

ifreq named_ifreq(const std::string& name) {
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), std::min(name.size(), sizeof ifr.ifr_name - 1));
  return ifr;
}

std::string privilege_hint(int err) {
  return err == EPERM || err == EACCES ? " (vport needs root or CAP_NET_ADMIN)" : "";
}

}  // namespace

// The offload sets to try, richest first: the kernel answers EINVAL for bits it does not know
// (USO arrived in 6.2), and TSO is only accepted together with CSUM.
constexpr unsigned kOffloadAttempts[] = {
    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | virtio_net::kTunFUso4 | virtio_net::kTunFUso6,
    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
    TUN_F_CSUM,
    0,
};

std::string TapDevice::offload_summary() const {
  if (!vnet_header_) return "no vnet header";
  std::string s;
  const std::pair<unsigned, const char*> names[] = {{TUN_F_CSUM, "csum"}, {TUN_F_TSO4, "tso4"},
                                                     {TUN_F_TSO6, "tso6"}, {virtio_net::kTunFUso4, "uso4"},
                                                     {virtio_net::kTunFUso6, "uso6"}};
  for (const auto& [bit, text] : names)
    if ((offloads_ & bit) != 0) s += (s.empty() ? "" : " ") + std::string(text);
  return s.empty() ? "none" : s;
}

namespace {

Result<UniqueFd> open_tun() {
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (fd.valid()) return fd;
  const int err = errno;
  if (err == ENOENT) return Error{"/dev/net/tun does not exist (load the tun module: modprobe tun)"};
  return errno_error("cannot open /dev/net/tun" + privilege_hint(err), err);
}

}  // namespace

Result<TapDevice> TapDevice::create(const std::string& name, bool offloads, bool uso, unsigned queues) {
  if (name.size() >= IFNAMSIZ) return Error{"TAP name '" + name + "' is longer than 15 characters"};
  if (queues == 0) return Error{"a TAP needs at least one queue"};
  // TUNSETIFF would silently attach to an existing persistent TAP of that name: refuse instead.
  if (!name.empty() && if_nametoindex(name.c_str()) != 0)
    return Error{"interface '" + name + "' already exists (choose another --tap name)"};
  TapDevice tap;
  auto first = open_tun();
  if (!first) return first.error();
  tap.fds_.push_back(std::move(first).value());
  unsigned features = 0;
  if (::ioctl(tap.fd(), TUNGETFEATURES, &features) != 0) features = 0;
  if (queues > 1 && (features & IFF_MULTI_QUEUE) == 0)
    return Error{"this kernel's TAP has no multi-queue support (IFF_MULTI_QUEUE): use --queues 1"};
  tap.vnet_header_ = offloads && (features & IFF_VNET_HDR) != 0;
  if (offloads && !tap.vnet_header_) VS_INFO("this kernel's TAP has no virtio-net header: offloads off");
  ifreq ifr = named_ifreq(name.empty() ? "vport%d" : name);
  ifr.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | (tap.vnet_header_ ? IFF_VNET_HDR : 0) |
                                     (queues > 1 ? IFF_MULTI_QUEUE : 0));
  if (::ioctl(tap.fd(), TUNSETIFF, &ifr) != 0) {
    const int err = errno;
    if (err == EBUSY || err == EEXIST) return Error{"TAP name '" + name + "' is taken"};
    return errno_error("cannot create TAP device" + privilege_hint(err), err);
  }
  tap.name_ = ifr.ifr_name;
  // The other queues attach to the device just created, by its name and with the same flags.
  for (unsigned q = 1; q < queues; ++q) {
    auto fd = open_tun();
    if (!fd) return fd.error();
    ifreq attach = named_ifreq(tap.name_);
    attach.ifr_flags = ifr.ifr_flags;
    if (::ioctl(fd->get(), TUNSETIFF, &attach) != 0)
      return errno_error("cannot open queue " + std::to_string(q) + " of " + tap.name_);
    tap.fds_.push_back(std::move(fd).value());
  }
  // Header size and offloads belong to the device, not to a queue: set once.
  if (tap.vnet_header_) {
    int size = virtio_net::kHeaderSize;
    if (::ioctl(tap.fd(), TUNSETVNETHDRSZ, &size) != 0)
      return errno_error("cannot set the virtio-net header size on " + tap.name_);
    for (const unsigned attempt : kOffloadAttempts) {
      if (!uso && (attempt & virtio_net::kTunFUso4) != 0) continue;
      if (::ioctl(tap.fd(), TUNSETOFFLOAD, attempt) == 0) {
        tap.offloads_ = attempt;
        break;
      }
      VS_DEBUG("TUNSETOFFLOAD 0x%x refused: %s", attempt, std::strerror(errno));
    }
  }
  return tap;
}

Status TapDevice::set_mtu(unsigned mtu) {
  auto sock = ioctl_socket(AF_INET);
  if (!sock) return sock.error();
  ifreq ifr = named_ifreq(name_);
  ifr.ifr_mtu = static_cast<int>(mtu);
  if (::ioctl(sock->get(), SIOCSIFMTU, &ifr) != 0)
    return errno_error("cannot set MTU " + std::to_string(mtu) + " on " + name_);
  return Ok{};
}

Status TapDevice::set_mac(const MacAddr& mac) {
  if (!mac.is_valid_source()) return Error{"MAC " + mac.to_string() + " is not a unicast address"};
  auto sock = ioctl_socket(AF_INET);
  if (!sock) return sock.error();
  ifreq ifr = named_ifreq(name_);
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  std::memcpy(ifr.ifr_hwaddr.sa_data, mac.bytes().data(), 6);
  if (::ioctl(sock->get(), SIOCSIFHWADDR, &ifr) != 0)
    return errno_error("cannot set MAC " + mac.to_string() + " on " + name_);
  return Ok{};
}

Result<MacAddr> TapDevice::mac() const {
  auto sock = ioctl_socket(AF_INET);
  if (!sock) return sock.error();
  ifreq ifr = named_ifreq(name_);
  if (::ioctl(sock->get(), SIOCGIFHWADDR, &ifr) != 0) return errno_error("cannot read MAC of " + name_);
  return MacAddr::from_bytes({reinterpret_cast<const std::uint8_t*>(ifr.ifr_hwaddr.sa_data), 6});
}

Status TapDevice::add_address(const std::string& cidr) {
  const auto slash = cidr.find('/');
  const std::string addr_text = cidr.substr(0, slash);
  unsigned prefix = 0;
  const bool v6 = addr_text.find(':') != std::string::npos;
  const unsigned max_prefix = v6 ? 128 : 32;
  if (slash == std::string::npos) {
    prefix = max_prefix;
  } else {
    const char* b = cidr.data() + slash + 1;
    const char* e = cidr.data() + cidr.size();
    const auto [ptr, ec] = std::from_chars(b, e, prefix);
    if (ec != std::errc() || ptr != e || prefix > max_prefix || b == e)
      return Error{"bad prefix length in '" + cidr + "'"};
  }
  const unsigned ifindex = if_nametoindex(name_.c_str());
  if (v6) {
    In6Ifreq req{};
    if (inet_pton(AF_INET6, addr_text.c_str(), &req.addr) != 1)
      return Error{"bad IPv6 address '" + addr_text + "'"};
    req.prefixlen = prefix;
    req.ifindex = static_cast<int>(ifindex);
    auto sock = ioctl_socket(AF_INET6);
    if (!sock) return sock.error();
    if (::ioctl(sock->get(), SIOCSIFADDR, &req) != 0)
      return errno_error("cannot add " + cidr + " to " + name_);
    return Ok{};
  }
  in_addr ip{};
  if (inet_pton(AF_INET, addr_text.c_str(), &ip) != 1) return Error{"bad IPv4 address '" + addr_text + "'"};
  const std::uint32_t mask = prefix == 0 ? 0 : htonl(~std::uint32_t{0} << (32 - prefix));
  auto sock = ioctl_socket(AF_INET);
  if (!sock) return sock.error();
  auto set = [&](unsigned long request, std::uint32_t value, const char* what) -> Status {
    ifreq ifr = named_ifreq(name_);
    auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = value;
    if (::ioctl(sock->get(), request, &ifr) != 0)
      return errno_error(std::string("cannot set ") + what + " " + cidr + " on " + name_);
    return Ok{};
  };
  if (auto s = set(SIOCSIFADDR, ip.s_addr, "address"); !s) return s;
  if (auto s = set(SIOCSIFNETMASK, mask, "netmask"); !s) return s;
  return set(SIOCSIFBRDADDR, ip.s_addr | ~mask, "broadcast");
}

Status TapDevice::set_up() {
  auto sock = ioctl_socket(AF_INET);
  if (!sock) return sock.error();
  ifreq ifr = named_ifreq(name_);
  if (::ioctl(sock->get(), SIOCGIFFLAGS, &ifr) != 0) return errno_error("cannot read flags of " + name_);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sock->get(), SIOCSIFFLAGS, &ifr) != 0) return errno_error("cannot bring " + name_ + " up");
  return Ok{};
}

}  // namespace vswitch
