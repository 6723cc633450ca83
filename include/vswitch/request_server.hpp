// One request per connection, answered and closed, on a thread of its own: the shape of both
// the control socket (a unix socket, one request line) and the Prometheus endpoint (TCP, one
// HTTP request head). Every client has deadlines and the clients served at once are bounded,
// so a slow, stuck or hostile reader never holds anything but its own slot.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "vswitch/result.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch {

class RequestServer {
 public:
  using Handler = std::function<std::string(std::string_view request)>;

  struct Framing {
    std::string_view end;         // a request ends here ("\n"; "\r\n\r\n" for HTTP)
    std::size_t max_request = 0;  // bytes before `end`
    std::string too_long;         // the answer to a longer request
    bool answer_at_eof = true;    // a client that stops writing gets an answer to what it sent
  };

  static constexpr std::size_t kMaxClients = 16;  // connections served at once

  // Serves `listen_fd` (listening, non-blocking) once start() runs; connections queue until then.
  RequestServer(UniqueFd listen_fd, Framing framing);
  RequestServer(RequestServer&&) noexcept;
  RequestServer& operator=(RequestServer&&) noexcept;
  ~RequestServer();  // stop()

  // Launches the thread: it calls `handler` (one request at a time, on that thread) with each
  // request (without its end marker) and sends the answer back. Deadlines: 5 s to send the
  // request, then the answer must move at least every 2 s, 30 s in all. When all kMaxClients
  // slots are taken, a new connection displaces the longest-waiting client that has not sent a
  // whole request yet, or is closed at once when every slot is busy answering.
  Status start(Handler handler);
  // Wakes and joins the thread, closing its clients; returns promptly. Idempotent; not from
  // inside the handler.
  void stop() noexcept;
  int listen_fd() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vswitch
