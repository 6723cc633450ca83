// rtnetlink, just what EVPN needs (docs/architecture.md, "EVPN"): make and remove links (a
// bridge, a VXLAN device), enslave and raise them, write and delete bridge FDB entries, and read
// the kernel's FDB: dumps and the notifications of RTNLGRP_NEIGH. Messages are built in a
// buffer of their own; a request waits for its acknowledgement, so errors keep their errno.
#pragma once

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vswitch/endpoint.hpp"
#include "vswitch/mac_addr.hpp"
#include "vswitch/result.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch::netlink {

// A message under construction: header, family header, attributes (nested ones too).
class Message {
 public:
  Message(std::uint16_t type, std::uint16_t flags);
  template <class T>
  T& body() {
    reserve_body(sizeof(T));
    return *reinterpret_cast<T*>(buffer_.data() + NLMSG_HDRLEN);
  }
  Message& attr(std::uint16_t type, std::span<const std::uint8_t> data);
  Message& attr_u8(std::uint16_t type, std::uint8_t v) { return attr(type, {&v, 1}); }
  Message& attr_u16(std::uint16_t type, std::uint16_t v);
  Message& attr_u32(std::uint16_t type, std::uint32_t v);
  Message& attr_string(std::uint16_t type, std::string_view s);  // NUL-terminated
  // Nested attributes between begin() and end().
  std::size_t begin(std::uint16_t type);
  void end(std::size_t at);
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buffer_.data()); }
  std::span<const std::uint8_t> bytes() const { return buffer_; }

 private:
  void reserve_body(std::size_t size);
  std::vector<std::uint8_t> buffer_;
};

// A bridge FDB entry as the kernel reports it (RTM_NEWNEIGH / RTM_DELNEIGH, AF_BRIDGE).
struct FdbEntry {
  bool deleted = false;  // RTM_DELNEIGH
  int ifindex = 0;
  MacAddr mac;
  std::uint16_t state = 0;  // NUD_*
  std::uint8_t flags = 0;   // NTF_*
  std::optional<Endpoint> dst;  // NDA_DST of a VXLAN entry (port 0)
};
// One message of RTNLGRP_NEIGH or of a neighbour dump, if it is a bridge FDB entry.
std::optional<FdbEntry> parse_fdb(const nlmsghdr* h);

class Socket {
 public:
  // NETLINK_ROUTE, bound to `groups` (RTMGRP_* bits) for notifications, non-blocking.
  static Result<Socket> open(std::uint32_t groups = 0);
  int fd() const noexcept { return fd_.get(); }

  // Sends the message without waiting: an error comes back later as an NLMSG_ERROR (drain).
  Status post(Message& m);
  // Sends the message and waits (at most 2 s) for its acknowledgement.
  Status request(Message& m, const std::string& what);
  // Sends a dump request and calls fn for every message of the answer.
  Status dump(Message& m, const std::function<void(const nlmsghdr*)>& fn);
  // Reads what waits, without blocking, and calls fn for each message. Returns false when the
  // kernel dropped notifications (ENOBUFS: the reader must dump again to catch up).
  bool drain(const std::function<void(const nlmsghdr*)>& fn);

 private:
  explicit Socket(UniqueFd fd) : fd_(std::move(fd)) {}
  Status await(std::uint32_t seq, int timeout_ms, const std::string& what,
               const std::function<std::optional<Status>(const nlmsghdr*)>& fn);
  UniqueFd fd_;
  std::uint32_t seq_ = 1;
  std::vector<std::uint8_t> rx_;
};

// Links, by name (for the shadow objects, whose names we choose).
int ifindex(const std::string& name);  // 0 when there is none
Status add_bridge(Socket& s, const std::string& name, std::uint32_t ageing_centiseconds);
// A VXLAN device without learning, with its local address and UDP port, enslaved to `master`.
Status add_vxlan(Socket& s, const std::string& name, std::uint32_t vni, const Endpoint& local, std::uint16_t port,
                 int master);
Status set_master_up(Socket& s, int ifindex, int master);
Status set_port_learning(Socket& s, int ifindex, bool on);
Status delete_link(Socket& s, int ifindex);
// A dynamic (NUD_REACHABLE) FDB entry for `mac` on bridge port `ifindex` (NTF_MASTER), or its removal.
// Fire and forget: errors come back later on the socket.
Message fdb_entry(bool add, int ifindex, MacAddr mac);
// The dump request for every bridge FDB entry.
Message fdb_dump();

}  // namespace vswitch::netlink
