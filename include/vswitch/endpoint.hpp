// A UDP endpoint (IPv4 or IPv6 address and port) as a comparable, hashable value type.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vswitch {

class Endpoint {
 public:
  Endpoint() = default;
  // Copies a kernel socket address; unknown families give an empty endpoint. IPv4-mapped IPv6
  // addresses (::ffff:a.b.c.d, from dual-stack sockets) become plain IPv4.
  static Endpoint from_sockaddr(const sockaddr* sa, socklen_t len) noexcept;
  // Numeric "A.B.C.D:PORT", "[V6]:PORT" or, without a port, the address alone with
  // `default_port`. No name resolution (see resolve()).
  static std::optional<Endpoint> parse_numeric(std::string_view text, std::uint16_t default_port);
  // Like parse_numeric but also resolves host names ("host:port"). Returns an error message
  // in `error` on failure.
  static std::optional<Endpoint> resolve(std::string_view text, std::uint16_t default_port,
                                         std::string& error);

  const sockaddr* sockaddr_ptr() const noexcept { return &addr_.sa; }
  sockaddr* sockaddr_ptr() noexcept { return &addr_.sa; }
  socklen_t size() const noexcept { return len_; }
  int family() const noexcept { return len_ == 0 ? AF_UNSPEC : addr_.sa.sa_family; }
  bool empty() const noexcept { return len_ == 0; }
  std::uint16_t port() const noexcept;
  Endpoint with_port(std::uint16_t port) const noexcept;  // the same address, another port
  std::string to_string() const;  // "198.18.0.11:40000" or "[fd00::1]:40000"

  // Same family and address, whatever the ports.
  bool same_address(const Endpoint& other) const noexcept;
  bool is_any_address() const noexcept;  // 0.0.0.0 or ::

  bool operator==(const Endpoint& other) const noexcept;
  std::size_t hash() const noexcept;

 private:
  void unmap_v4() noexcept;
  union {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } addr_{};
  socklen_t len_ = 0;
};

struct EndpointHash {
  std::size_t operator()(const Endpoint& e) const noexcept { return e.hash(); }
};

}  // namespace vswitch
