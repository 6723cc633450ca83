#include "vswitch/underlay.hpp"

#include <netinet/in.h>

#include <cstring>

#include "vswitch/byte_order.hpp"
#include "vswitch/checksum.hpp"
#include "vswitch/ethernet.hpp"
#include "vswitch/underlay_sources.h"

namespace vswitch::underlay {
namespace {

constexpr std::uint8_t kProtoUdp = 17;

}  // namespace

ParseError parse(std::span<const std::uint8_t> frame, Packet& out) noexcept {
  if (frame.size() < 14) return ParseError::truncated;
  std::size_t off = 12;
  std::uint16_t type = load_be16(frame.subspan(off));
  off += 2;
  if (type == ethernet::kTypeVlan || type == ethernet::kTypeQinQ) {
    if (frame.size() < off + 4) return ParseError::truncated;
    type = load_be16(frame.subspan(off + 2));
    off += 4;
  }
  out.l2_size = off;
  std::size_t udp_off = 0;
  std::size_t ip_end = 0;
  bool impossible_source = false;
  if (type == ethernet::kTypeIpv4) {
    if (frame.size() < off + 20) return ParseError::truncated;
    const auto ip = frame.subspan(off);
    const std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || frame.size() < off + ihl) return ParseError::truncated;
    if (ip[9] != kProtoUdp) return ParseError::not_udp;
    if ((load_be16(ip.subspan(6)) & 0x3fff) != 0) return ParseError::fragment;
    if (checksum::finish(checksum::add(0, ip.first(ihl))) != 0) return ParseError::bad_checksum;
    const std::size_t total = load_be16(ip.subspan(2));
    if (total < ihl + 8 || off + total > frame.size()) return ParseError::bad_length;
    udp_off = off + ihl;
    ip_end = off + total;
    out.ipv6 = false;
    std::uint32_t source = 0;
    std::memcpy(&source, ip.data() + 12, 4);
    impossible_source = vswitch_ipv4_source_is_impossible(source, 0) != 0;
  } else if (type == ethernet::kTypeIpv6) {
    if (frame.size() < off + 40) return ParseError::truncated;
    const auto ip = frame.subspan(off);
    if ((ip[0] >> 4) != 6) return ParseError::truncated;
    if (ip[6] != kProtoUdp) return ParseError::not_udp;
    const std::size_t payload = load_be16(ip.subspan(4));
    if (payload < 8 || off + 40 + payload > frame.size()) return ParseError::bad_length;
    udp_off = off + 40;
    ip_end = udp_off + payload;
    out.ipv6 = true;
    impossible_source = vswitch_ipv6_source_is_impossible(ip.data() + 8, nullptr) != 0;
  } else {
    return ParseError::not_ip;
  }
  // Frames may carry Ethernet padding behind the IP packet: the IP length is authoritative.
  const std::size_t udp_len = load_be16(frame.subspan(udp_off + 4));
  if (udp_len < 8 || udp_off + udp_len > ip_end) return ParseError::bad_length;
  if (impossible_source) return ParseError::bad_source;
  out.header_size = udp_off + 8;
  out.payload_size = udp_len - 8;
  return ParseError::none;
}

UnderlayRoute reply_route(std::span<const std::uint8_t> frame, const Packet& packet) noexcept {
  UnderlayRoute r;
  r.l2_size = static_cast<std::uint8_t>(packet.l2_size);
  std::memcpy(r.l2.data(), frame.data() + 6, 6);      // their source is our destination
  std::memcpy(r.l2.data() + 6, frame.data(), 6);      // and their destination our source
  std::memcpy(r.l2.data() + 12, frame.data() + 12, packet.l2_size - 12);  // tag and type
  r.ipv6 = packet.ipv6;
  const std::size_t ip = packet.l2_size;
  if (packet.ipv6) {
    std::memcpy(r.remote_addr.data(), frame.data() + ip + 8, 16);
    std::memcpy(r.local_addr.data(), frame.data() + ip + 24, 16);
  } else {
    std::memcpy(r.remote_addr.data(), frame.data() + ip + 12, 4);
    std::memcpy(r.local_addr.data(), frame.data() + ip + 16, 4);
  }
  const std::size_t udp = packet.header_size - 8;
  std::memcpy(&r.remote_port, frame.data() + udp, 2);
  std::memcpy(&r.local_port, frame.data() + udp + 2, 2);
  return r;
}

Endpoint source_endpoint(std::span<const std::uint8_t> frame, const Packet& packet) noexcept {
  const std::size_t ip = packet.l2_size;
  const std::size_t udp = packet.header_size - 8;
  if (packet.ipv6) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    std::memcpy(&sa.sin6_addr, frame.data() + ip + 8, 16);
    std::memcpy(&sa.sin6_port, frame.data() + udp, 2);
    return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  std::memcpy(&sa.sin_addr, frame.data() + ip + 12, 4);
  std::memcpy(&sa.sin_port, frame.data() + udp, 2);
  return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
}

void write_headers(const UnderlayRoute& route, std::span<std::uint8_t> packet,
                   std::size_t payload_size) noexcept {
  std::memcpy(packet.data(), route.l2.data(), route.l2_size);
  auto ip = packet.subspan(route.l2_size);
  const std::size_t udp_len = 8 + payload_size;
  std::size_t udp_off = 0;
  if (route.ipv6) {
    store_be32(ip, 0x60000000);  // version 6, traffic class 0, flow label 0
    store_be16(ip.subspan(4), static_cast<std::uint16_t>(udp_len));
    ip[6] = kProtoUdp;
    ip[7] = 64;  // hop limit
    std::memcpy(ip.data() + 8, route.local_addr.data(), 16);
    std::memcpy(ip.data() + 24, route.remote_addr.data(), 16);
    udp_off = 40;
  } else {
    ip[0] = 0x45;
    ip[1] = 0;
    store_be16(ip.subspan(2), static_cast<std::uint16_t>(20 + udp_len));
    store_be16(ip.subspan(4), 0);       // ID: unused with DF set
    store_be16(ip.subspan(6), 0x4000);  // DF: the underlay never fragments
    ip[8] = 64;
    ip[9] = kProtoUdp;
    store_be16(ip.subspan(10), 0);
    std::memcpy(ip.data() + 12, route.local_addr.data(), 4);
    std::memcpy(ip.data() + 16, route.remote_addr.data(), 4);
    store_be16(ip.subspan(10), checksum::finish(checksum::add(0, ip.first(20))));
    udp_off = 20;
  }
  auto udp = ip.subspan(udp_off);
  std::memcpy(udp.data(), &route.local_port, 2);
  std::memcpy(udp.data() + 2, &route.remote_port, 2);
  store_be16(udp.subspan(4), static_cast<std::uint16_t>(udp_len));
  store_be16(udp.subspan(6), 0);
  if (route.ipv6) {
    const std::uint32_t sum = checksum::pseudo_header(ip.subspan(8, 16), ip.subspan(24, 16), kProtoUdp, udp_len);
    std::uint16_t c = checksum::finish(checksum::add(sum, udp.first(udp_len)));
    if (c == 0) c = 0xffff;  // 0 means "no checksum", which IPv6 forbids
    store_be16(udp.subspan(6), c);
  }
}

}  // namespace vswitch::underlay
