#include "vswitch/netlink.hpp"

#include <arpa/inet.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace vswitch::netlink {
namespace {

constexpr std::size_t align(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

template <class Fn>
void for_each_attr(const void* data, std::size_t len, Fn&& fn) {
  auto* a = static_cast<const rtattr*>(data);
  for (auto left = static_cast<int>(len); RTA_OK(a, left); a = RTA_NEXT(a, left))
    fn(a->rta_type & ~NLA_F_NESTED, std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(RTA_DATA(a)),
                                                                    RTA_PAYLOAD(a)));
}

}  // namespace

Message::Message(std::uint16_t type, std::uint16_t flags) : buffer_(NLMSG_HDRLEN) {
  header()->nlmsg_type = type;
  header()->nlmsg_flags = flags | NLM_F_REQUEST;
  header()->nlmsg_len = NLMSG_HDRLEN;
}

void Message::reserve_body(std::size_t size) {
  if (buffer_.size() < NLMSG_HDRLEN + align(size)) buffer_.resize(NLMSG_HDRLEN + align(size));
  header()->nlmsg_len = static_cast<std::uint32_t>(buffer_.size());
}

Message& Message::attr(std::uint16_t type, std::span<const std::uint8_t> data) {
  const std::size_t at = buffer_.size();
  buffer_.resize(at + align(RTA_LENGTH(data.size())));
  auto* a = reinterpret_cast<rtattr*>(buffer_.data() + at);
  a->rta_type = type;
  a->rta_len = static_cast<std::uint16_t>(RTA_LENGTH(data.size()));
  if (!data.empty()) std::memcpy(RTA_DATA(a), data.data(), data.size());
  header()->nlmsg_len = static_cast<std::uint32_t>(buffer_.size());
  return *this;
}

Message& Message::attr_u16(std::uint16_t type, std::uint16_t v) {
  return attr(type, {reinterpret_cast<const std::uint8_t*>(&v), sizeof v});
}
Message& Message::attr_u32(std::uint16_t type, std::uint32_t v) {
  return attr(type, {reinterpret_cast<const std::uint8_t*>(&v), sizeof v});
}
Message& Message::attr_string(std::uint16_t type, std::string_view s) {
  std::vector<std::uint8_t> z(s.begin(), s.end());
  z.push_back(0);
  return attr(type, z);
}

std::size_t Message::begin(std::uint16_t type) {
  const std::size_t at = buffer_.size();
  attr(type | NLA_F_NESTED, {});
  return at;
}

void Message::end(std::size_t at) {
  reinterpret_cast<rtattr*>(buffer_.data() + at)->rta_len = static_cast<std::uint16_t>(buffer_.size() - at);
}

std::optional<FdbEntry> parse_fdb(const nlmsghdr* h) {
  if (h->nlmsg_type != RTM_NEWNEIGH && h->nlmsg_type != RTM_DELNEIGH) return std::nullopt;
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ndmsg))) return std::nullopt;
  const auto* nd = static_cast<const ndmsg*>(NLMSG_DATA(h));
  if (nd->ndm_family != AF_BRIDGE) return std::nullopt;
  FdbEntry e;
  e.deleted = h->nlmsg_type == RTM_DELNEIGH;
  e.ifindex = nd->ndm_ifindex;
  e.state = nd->ndm_state;
  e.flags = nd->ndm_flags;
  bool has_mac = false;
  for_each_attr(reinterpret_cast<const std::uint8_t*>(nd) + NLMSG_ALIGN(sizeof(ndmsg)),
                h->nlmsg_len - NLMSG_LENGTH(sizeof(ndmsg)), [&](unsigned type, std::span<const std::uint8_t> v) {
                  if (type == NDA_LLADDR && v.size() == 6) {
                    e.mac = MacAddr({v[0], v[1], v[2], v[3], v[4], v[5]});
                    has_mac = true;
                  } else if (type == NDA_DST && (v.size() == 4 || v.size() == 16)) {
                    sockaddr_storage ss{};
                    socklen_t len = 0;
                    if (v.size() == 4) {
                      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
                      sin->sin_family = AF_INET;
                      std::memcpy(&sin->sin_addr, v.data(), 4);
                      len = sizeof *sin;
                    } else {
                      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
                      sin6->sin6_family = AF_INET6;
                      std::memcpy(&sin6->sin6_addr, v.data(), 16);
                      len = sizeof *sin6;
                    }
                    e.dst = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
                  }
                });
  if (!has_mac) return std::nullopt;
  return e;
}

Result<Socket> Socket::open(std::uint32_t groups) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
  if (!fd.valid()) return errno_error("socket(AF_NETLINK)");
  // Notifications come in bursts (a route reflector's worth of MACs): room for tens of thousands.
  const int size = 8 << 20;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = groups;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return errno_error("bind(netlink)");
  Socket s(std::move(fd));
  s.rx_.resize(64 * 1024);
  return s;
}

Status Socket::post(Message& m) {
  m.header()->nlmsg_seq = seq_++;
  const auto bytes = m.bytes();
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) < 0)
    return errno_error("netlink send");
  return Ok{};
}

// Reads answers to `seq` until `fn` says the exchange is over (an Ok or an error), waiting at
// most `timeout_ms` for them in all.
Status Socket::await(std::uint32_t seq, int timeout_ms, const std::string& what,
                     const std::function<std::optional<Status>(const nlmsghdr*)>& fn) {
  for (int waited = 0; waited < timeout_ms;) {
    const ssize_t n = ::recv(fd_.get(), rx_.data(), rx_.size(), 0);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) return errno_error(what);
      pollfd p{fd_.get(), POLLIN, 0};
      ::poll(&p, 1, 100);
      waited += 100;
      continue;
    }
    auto len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(rx_.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len))
      if (h->nlmsg_seq == seq)
        if (auto done = fn(h)) return std::move(*done);
  }
  return Error{what + ": no answer from the kernel"};
}

Status Socket::request(Message& m, const std::string& what) {
  m.header()->nlmsg_flags |= NLM_F_ACK;
  if (auto s = post(m); !s) return Error{what + ": " + s.error().message};
  return await(m.header()->nlmsg_seq, 2000, what, [&](const nlmsghdr* h) -> std::optional<Status> {
    if (h->nlmsg_type != NLMSG_ERROR) return std::nullopt;
    const int err = -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
    if (err == 0) return Status{Ok{}};
    return Status{errno_error(what, err)};
  });
}

Status Socket::dump(Message& m, const std::function<void(const nlmsghdr*)>& fn) {
  m.header()->nlmsg_flags |= NLM_F_DUMP;
  if (auto s = post(m); !s) return s;
  return await(m.header()->nlmsg_seq, 5000, "netlink dump", [&](const nlmsghdr* h) -> std::optional<Status> {
    if (h->nlmsg_type == NLMSG_DONE) return Status{Ok{}};
    if (h->nlmsg_type == NLMSG_ERROR)
      return Status{errno_error("netlink dump", -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error)};
    fn(h);
    return std::nullopt;
  });
}

bool Socket::drain(const std::function<void(const nlmsghdr*)>& fn) {
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), rx_.data(), rx_.size(), 0);
    if (n < 0) return errno != ENOBUFS;
    auto len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(rx_.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) fn(h);
  }
}

int ifindex(const std::string& name) { return static_cast<int>(::if_nametoindex(name.c_str())); }

Status add_bridge(Socket& s, const std::string& name, std::uint32_t ageing_centiseconds) {
  Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  m.body<ifinfomsg>().ifi_family = AF_UNSPEC;
  m.attr_string(IFLA_IFNAME, name);
  const std::size_t info = m.begin(IFLA_LINKINFO);
  m.attr_string(IFLA_INFO_KIND, "bridge");
  const std::size_t data = m.begin(IFLA_INFO_DATA);
  m.attr_u32(IFLA_BR_AGEING_TIME, ageing_centiseconds);
  m.end(data);
  m.end(info);
  return s.request(m, "cannot create bridge " + name);
}

Status add_vxlan(Socket& s, const std::string& name, std::uint32_t vni, const Endpoint& local, std::uint16_t port,
                 int master) {
  Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  m.body<ifinfomsg>().ifi_family = AF_UNSPEC;
  m.attr_string(IFLA_IFNAME, name);
  m.attr_u32(IFLA_MASTER, static_cast<std::uint32_t>(master));
  const std::size_t info = m.begin(IFLA_LINKINFO);
  m.attr_string(IFLA_INFO_KIND, "vxlan");
  const std::size_t data = m.begin(IFLA_INFO_DATA);
  m.attr_u32(IFLA_VXLAN_ID, vni);
  if (local.family() == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(local.sockaddr_ptr());
    m.attr(IFLA_VXLAN_LOCAL, {reinterpret_cast<const std::uint8_t*>(&sin->sin_addr), 4});
  } else {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(local.sockaddr_ptr());
    m.attr(IFLA_VXLAN_LOCAL6, {reinterpret_cast<const std::uint8_t*>(&sin6->sin6_addr), 16});
  }
  m.attr_u16(IFLA_VXLAN_PORT, htons(port));
  m.attr_u8(IFLA_VXLAN_LEARNING, 0);
  m.end(data);
  m.end(info);
  return s.request(m, "cannot create VXLAN device " + name);
}

Status set_master_up(Socket& s, int index, int master) {
  Message m(RTM_NEWLINK, 0);
  auto& ifi = m.body<ifinfomsg>();
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  if (master != 0) m.attr_u32(IFLA_MASTER, static_cast<std::uint32_t>(master));
  return s.request(m, "cannot raise link " + std::to_string(index));
}

Status set_port_learning(Socket& s, int index, bool on) {
  Message m(RTM_SETLINK, 0);
  auto& ifi = m.body<ifinfomsg>();
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = index;
  const std::size_t info = m.begin(IFLA_PROTINFO);
  m.attr_u8(IFLA_BRPORT_LEARNING, on ? 1 : 0);
  m.end(info);
  return s.request(m, "cannot set learning on bridge port " + std::to_string(index));
}

Status delete_link(Socket& s, int index) {
  Message m(RTM_DELLINK, 0);
  auto& ifi = m.body<ifinfomsg>();
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  return s.request(m, "cannot delete link " + std::to_string(index));
}

Message fdb_entry(bool add, int index, MacAddr mac) {
  Message m(add ? RTM_NEWNEIGH : RTM_DELNEIGH, add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
  auto& nd = m.body<ndmsg>();
  nd.ndm_family = AF_BRIDGE;
  nd.ndm_ifindex = index;
  nd.ndm_state = NUD_REACHABLE;
  nd.ndm_flags = NTF_MASTER;
  const auto& b = mac.bytes();
  m.attr(NDA_LLADDR, {b.data(), b.size()});
  return m;
}

Message fdb_dump() {
  Message m(RTM_GETNEIGH, 0);
  m.body<ndmsg>().ndm_family = AF_BRIDGE;
  return m;
}

}  // namespace vswitch::netlink
