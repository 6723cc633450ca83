#include "afxdp_sender.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "vswitch/byte_order.hpp"
#include "vswitch/ethernet.hpp"
#include "vswitch/mac_addr.hpp"

namespace vswitch::bench {

Result<AfxdpSender> AfxdpSender::open(const std::string& iface) {
  XskConfig config;
  config.transmit_only = true;
  config.force_copy = false;  // zero-copy where the driver has it
  config.frame_size = 2048;
  auto socket = XskSocket::open(iface, config, -1);
  if (!socket) return socket.error();
  return AfxdpSender(std::move(socket).value());
}

std::uint32_t AfxdpSender::send(const underlay::UnderlayRoute& route,
                                std::span<const std::span<const std::uint8_t>> messages) noexcept {
  socket_.reap_completions();
  const std::size_t hs = route.header_size();
  std::uint32_t sent = 0;
  while (sent < messages.size()) {
    // Frames first, then ring slots: a reserved slot cannot be given back.
    std::array<std::uint64_t, 64> chunks;
    std::uint32_t k = 0;
    const auto want = static_cast<std::uint32_t>(std::min<std::size_t>(chunks.size(), messages.size() - sent));
    while (k < want && hs + messages[sent + k].size() <= socket_.frame_size() && socket_.alloc(chunks[k])) ++k;
    std::uint32_t idx = 0;
    if (k == 0 || xsk_ring_prod__reserve(&socket_.tx(), k, &idx) != k) {  // reserves all or none
      for (std::uint32_t i = 0; i < k; ++i) socket_.release(chunks[i]);
      break;
    }
    for (std::uint32_t i = 0; i < k; ++i) {
      const auto& m = messages[sent + i];
      std::uint8_t* out = socket_.data(chunks[i]);
      std::memcpy(out + hs, m.data(), m.size());
      underlay::write_headers(route, {out, hs + m.size()}, m.size());
      xdp_desc* d = xsk_ring_prod__tx_desc(&socket_.tx(), idx + i);
      d->addr = chunks[i];
      d->len = static_cast<std::uint32_t>(hs + m.size());
    }
    xsk_ring_prod__submit(&socket_.tx(), k);
    sent += k;
  }
  socket_.flush_tx();
  return sent;
}

void AfxdpSender::drain() noexcept {
  for (int i = 0; i < 100 && socket_.tx_pending() > 0; ++i) {
    socket_.flush_tx();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Copy mode completes a frame when the receiving side frees its skb: give that a moment.
  for (int i = 0; i < 50; ++i) {
    if (socket_.reap_completions() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

namespace {

Result<MacAddr> iface_mac(const std::string& iface) {
  std::ifstream f("/sys/class/net/" + iface + "/address");
  std::string text;
  if (!(f >> text)) return Error{"no interface " + iface};
  const auto mac = MacAddr::parse(text);
  if (!mac) return Error{"cannot read the MAC address of " + iface};
  return *mac;
}

// /proc/net/arp: "IP address  HW type  Flags  HW address  Mask  Device", complete entries only.
Result<MacAddr> neighbour_mac(const std::string& ip, const std::string& iface) {
  std::ifstream f("/proc/net/arp");
  std::string line;
  std::getline(f, line);
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string addr, hw_type, flags, hw, mask, dev;
    if (!(in >> addr >> hw_type >> flags >> hw >> mask >> dev)) continue;
    if (addr != ip || dev != iface || (std::stoul(flags, nullptr, 16) & 0x2) == 0) continue;
    if (const auto mac = MacAddr::parse(hw)) return *mac;
  }
  return Error{"no neighbour entry for " + ip + " on " + iface + " (the server must have answered us first)"};
}

}  // namespace

Result<underlay::UnderlayRoute> route_of_connected_socket(int fd, const std::string& iface) {
  sockaddr_in local{}, remote{};
  socklen_t len = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0 || local.sin_family != AF_INET)
    return Error{"--afxdp-tx needs an IPv4 underlay"};
  len = sizeof remote;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &len) != 0) return errno_error("getpeername");
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &remote.sin_addr, ip, sizeof ip);
  auto ours = iface_mac(iface);
  if (!ours) return ours.error();
  auto theirs = neighbour_mac(ip, iface);
  if (!theirs) return theirs.error();

  underlay::UnderlayRoute r;
  std::memcpy(r.l2.data(), theirs->bytes().data(), 6);
  std::memcpy(r.l2.data() + 6, ours->bytes().data(), 6);
  store_be16({r.l2.data() + 12, 2}, ethernet::kTypeIpv4);
  r.l2_size = 14;
  std::memcpy(r.local_addr.data(), &local.sin_addr, 4);
  std::memcpy(r.remote_addr.data(), &remote.sin_addr, 4);
  r.local_port = local.sin_port;
  r.remote_port = remote.sin_port;
  return r;
}

}  // namespace vswitch::bench
