// The control channel between vswitchctl and a running vswitch: a unix stream socket, one
// request line per connection ("ports", "fdb" or "stats", optionally followed by " json"),
// answered with the rendered text and closed.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "vswitch/result.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch {

inline constexpr const char* kDefaultControlPath = "/run/vswitch/vswitch.sock";

class ControlServer {
 public:
  using Handler = std::function<std::string(std::string_view request)>;

  // Creates the socket (and its directory). A stale socket file of a dead server is replaced;
  // a live one is an error, so two servers never fight over one path.
  static Result<ControlServer> listen(const std::string& path);
  ControlServer(ControlServer&&) noexcept;
  ControlServer& operator=(ControlServer&&) noexcept;
  ~ControlServer();

  int fd() const noexcept { return fd_.get(); }
  // Serves every pending connection. Each client gets a short timeout, so a stuck client cannot
  // hold the caller (the switch's event loop) for long.
  void serve_pending(const Handler& handler);

 private:
  ControlServer() = default;
  UniqueFd fd_;
  std::string path_;
};

// vswitchctl's side: sends one request, returns the whole answer.
Result<std::string> control_request(const std::string& path, std::string_view request);

}  // namespace vswitch
