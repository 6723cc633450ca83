#include "vswitch/endpoint.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <charconv>
#include <cstring>

namespace vswitch {
namespace {

// Splits "host:port", "[v6]:port", "v6" or "host" into host and port text.
bool split_host_port(std::string_view text, std::string& host, std::string_view& port) {
  port = {};
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
    return true;
  }
  const auto colon = text.rfind(':');
  if (colon != std::string_view::npos && text.find(':') == colon) {
    host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  } else {
    host = std::string(text);  // bare IPv6 address or host without port
  }
  return true;
}

std::optional<std::uint16_t> parse_port(std::string_view text, std::uint16_t default_port) {
  if (text.empty()) return default_port;
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

Endpoint Endpoint::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
  Endpoint e;
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    std::memcpy(&e.addr_.v4, sa, sizeof(sockaddr_in));
    e.len_ = sizeof(sockaddr_in);
  } else if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    std::memcpy(&e.addr_.v6, sa, sizeof(sockaddr_in6));
    e.len_ = sizeof(sockaddr_in6);
    e.unmap_v4();
  }
  return e;
}

void Endpoint::unmap_v4() noexcept {
  // A dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d, AF_XDP and IPv4 sockets as
  // a.b.c.d: one form everywhere, so that comparisons and hashes agree. Sending to the AF_INET
  // form through a dual-stack socket works (probed).
  if (len_ != sizeof(sockaddr_in6) || !IN6_IS_ADDR_V4MAPPED(&addr_.v6.sin6_addr)) return;
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = addr_.v6.sin6_port;
  std::memcpy(&v4.sin_addr, &addr_.v6.sin6_addr.s6_addr[12], 4);
  addr_ = {};
  addr_.v4 = v4;
  len_ = sizeof(sockaddr_in);
}

std::optional<Endpoint> Endpoint::parse_numeric(std::string_view text, std::uint16_t default_port) {
  std::string host;
  std::string_view port_text;
  if (!split_host_port(text, host, port_text)) return std::nullopt;
  const auto port = parse_port(port_text, default_port);
  if (!port) return std::nullopt;
  Endpoint e;
  if (inet_pton(AF_INET, host.c_str(), &e.addr_.v4.sin_addr) == 1) {
    e.addr_.v4.sin_family = AF_INET;
    e.addr_.v4.sin_port = htons(*port);
    e.len_ = sizeof(sockaddr_in);
    return e;
  }
  if (inet_pton(AF_INET6, host.c_str(), &e.addr_.v6.sin6_addr) == 1) {
    e.addr_.v6.sin6_family = AF_INET6;
    e.addr_.v6.sin6_port = htons(*port);
    e.len_ = sizeof(sockaddr_in6);
    // A listen address stays as written: [::ffff:a.b.c.d] binds differently from a.b.c.d.
    return e;
  }
  return std::nullopt;
}

std::optional<Endpoint> Endpoint::resolve(std::string_view text, std::uint16_t default_port,
                                          std::string& error) {
  if (auto numeric = parse_numeric(text, default_port)) return numeric;
  std::string host;
  std::string_view port_text;
  if (!split_host_port(text, host, port_text) || host.empty()) {
    error = "malformed address '" + std::string(text) + "' (expected HOST:PORT or [IPV6]:PORT)";
    return std::nullopt;
  }
  const auto port = parse_port(port_text, default_port);
  if (!port) {
    error = "bad port in '" + std::string(text) + "'";
    return std::nullopt;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* result = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &result); rc != 0) {
    error = "cannot resolve '" + host + "': " + gai_strerror(rc);
    return std::nullopt;
  }
  Endpoint e = from_sockaddr(result->ai_addr, result->ai_addrlen);
  freeaddrinfo(result);
  if (e.empty()) {
    error = "'" + host + "' has no IPv4 or IPv6 address";
    return std::nullopt;
  }
  if (e.family() == AF_INET)
    e.addr_.v4.sin_port = htons(*port);
  else
    e.addr_.v6.sin6_port = htons(*port);
  return e;
}

std::uint16_t Endpoint::port() const noexcept {
  if (family() == AF_INET) return ntohs(addr_.v4.sin_port);
  if (family() == AF_INET6) return ntohs(addr_.v6.sin6_port);
  return 0;
}

Endpoint Endpoint::with_port(std::uint16_t port) const noexcept {
  Endpoint e = *this;
  if (family() == AF_INET) e.addr_.v4.sin_port = htons(port);
  if (family() == AF_INET6) e.addr_.v6.sin6_port = htons(port);
  return e;
}

std::string Endpoint::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &addr_.v4.sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &addr_.v6.sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  return "-";
}

bool Endpoint::same_address(const Endpoint& other) const noexcept {
  if (family() != other.family()) return false;
  if (family() == AF_INET) return addr_.v4.sin_addr.s_addr == other.addr_.v4.sin_addr.s_addr;
  if (family() == AF_INET6) return std::memcmp(&addr_.v6.sin6_addr, &other.addr_.v6.sin6_addr, 16) == 0;
  return true;
}

bool Endpoint::is_any_address() const noexcept {
  if (family() == AF_INET) return addr_.v4.sin_addr.s_addr == INADDR_ANY;
  if (family() == AF_INET6) return IN6_IS_ADDR_UNSPECIFIED(&addr_.v6.sin6_addr);
  return false;
}

bool Endpoint::operator==(const Endpoint& other) const noexcept {
  return same_address(other) && port() == other.port();
}

std::size_t Endpoint::hash() const noexcept {
  std::size_t h = 1469598103934665603ULL;
  auto feed = [&h](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
  };
  if (family() == AF_INET) {
    feed(&addr_.v4.sin_addr, 4);
    feed(&addr_.v4.sin_port, 2);
  } else if (family() == AF_INET6) {
    feed(&addr_.v6.sin6_addr, 16);
    feed(&addr_.v6.sin6_port, 2);
  }
  return h;
}

}  // namespace vswitch
