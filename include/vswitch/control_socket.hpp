// The control channel between vswitchctl and a running vswitch: a unix stream socket, one
// request line per connection ("ports", "fdb" or "stats", optionally followed by " json"),
// answered with the rendered text and closed.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "vswitch/request_server.hpp"
#include "vswitch/result.hpp"

namespace vswitch {

inline constexpr const char* kDefaultControlPath = "/run/vswitch/vswitch.sock";

// Serves the control socket on a thread of its own, so neither a slow client nor a large answer
// ever holds the switch's event loop, and one client never waits for another's.
class ControlServer {
 public:
  using Handler = RequestServer::Handler;

  static constexpr std::size_t kMaxClients = RequestServer::kMaxClients;
  static constexpr std::size_t kMaxRequestLine = 255;  // bytes before the '\n'

  // Creates the socket (and its directory, 0755). Only a socket refusing connections (a dead
  // server's) is replaced. A live server's socket is an error, so two servers never fight over
  // one path; anything else at the path (file, directory, symlink...) is an error and left alone.
  // Connections queue until start().
  static Result<ControlServer> listen(const std::string& path);
  ControlServer(ControlServer&&) noexcept;
  ControlServer& operator=(ControlServer&&) noexcept;
  ~ControlServer();  // stop(), then removes the socket file if it is still ours

  // Launches the control thread (request_server.hpp: deadlines, bounded clients): `handler` gets
  // each request line. A request line longer than kMaxRequestLine is answered "error: request
  // too long".
  Status start(Handler handler);
  // Wakes and joins the control thread, closing its clients; returns promptly. Idempotent; not
  // from inside the handler.
  void stop() noexcept;

 private:
  struct State;
  explicit ControlServer(std::unique_ptr<State> state) noexcept;
  std::unique_ptr<State> state_;
};

// vswitchctl's side: sends one request, returns the whole answer.
Result<std::string> control_request(const std::string& path, std::string_view request);

}  // namespace vswitch
