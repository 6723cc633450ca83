#include "vswitch/control_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace vswitch {
namespace {

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return Error{"control socket path '" + path + "' is empty or too long"};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

void set_timeouts(int fd, int millis) {
  timeval tv{millis / 1000, (millis % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

Result<ControlServer> ControlServer::listen(const std::string& path) {
  auto addr = unix_address(path);
  if (!addr) return addr.error();
  const auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    const std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      return errno_error("cannot create control directory " + dir);
  }
  // A connectable socket belongs to a live server; an unconnectable one is stale.
  {
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0)
      return Error{"control socket " + path + " is in use by another vswitch (use --control)"};
  }
  ::unlink(path.c_str());
  ControlServer server;
  server.fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!server.fd_.valid()) return errno_error("socket(AF_UNIX)");
  const mode_t old_mask = ::umask(0077);  // only root talks to the switch
  const int rc = ::bind(server.fd_.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
  ::umask(old_mask);
  if (rc != 0) return errno_error("cannot bind control socket " + path);
  if (::listen(server.fd_.get(), 16) != 0) return errno_error("listen on " + path);
  server.path_ = path;
  return server;
}

ControlServer::ControlServer(ControlServer&& other) noexcept
    : fd_(std::move(other.fd_)), path_(std::exchange(other.path_, {})) {}

ControlServer& ControlServer::operator=(ControlServer&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) ::unlink(path_.c_str());
    fd_ = std::move(other.fd_);
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

ControlServer::~ControlServer() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

void ControlServer::serve_pending(const Handler& handler) {
  for (;;) {
    UniqueFd client(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client.valid()) return;  // EAGAIN: nothing pending (or a transient error)
    set_timeouts(client.get(), 200);
    char buf[256];
    std::size_t used = 0;
    while (used < sizeof buf) {
      const ssize_t n = ::recv(client.get(), buf + used, sizeof buf - used, 0);
      if (n <= 0) break;
      used += static_cast<std::size_t>(n);
      if (std::memchr(buf, '\n', used) != nullptr) break;
    }
    std::string_view request(buf, used);
    if (const auto nl = request.find('\n'); nl != std::string_view::npos) request = request.substr(0, nl);
    write_all(client.get(), handler(request));
  }
}

Result<std::string> control_request(const std::string& path, std::string_view request) {
  auto addr = unix_address(path);
  if (!addr) return addr.error();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket(AF_UNIX)");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0)
    return errno_error("cannot connect to " + path + " (is vswitch running? see --control)");
  set_timeouts(fd.get(), 5000);
  if (!write_all(fd.get(), std::string(request) + "\n")) return errno_error("send to " + path);
  std::string answer;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read from " + path);
    if (n == 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  return answer;
}

}  // namespace vswitch
