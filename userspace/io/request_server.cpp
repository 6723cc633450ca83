#include "vswitch/request_server.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "vswitch/time.hpp"

namespace vswitch {
namespace {

using namespace std::chrono_literals;

constexpr auto kRequestTimeout = 5s;            // from accept to a whole request line
constexpr auto kSendStallTimeout = 2s;          // the answer must move at least this often...
constexpr auto kClientLifetime = 30s;           // ...and a trickling reader loses its slot after this
constexpr auto kAcceptBackoff = 100ms;          // after EMFILE and the like: retry later, never spin
constexpr std::size_t kDrainLimit = 64 * 1024;  // unread input discarded before a close

int poll_timeout(TimePoint now, TimePoint wake_at) {
  if (wake_at == TimePoint::max()) return -1;
  if (wake_at <= now) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wake_at - now).count();
  return static_cast<int>(std::min<decltype(ms)>(ms, INT_MAX));
}

// Reads what a client sent beyond its request: closing a unix socket with unread data makes the
// peer's read fail with ECONNRESET after our answer, instead of a clean end.
void discard_unread(int fd) {
  char buf[4096];
  for (std::size_t total = 0; total < kDrainLimit;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) return;
    total += static_cast<std::size_t>(n);
  }
}

struct Client {
  UniqueFd fd;
  TimePoint accepted;
  TimePoint deadline;    // closed when it passes
  std::string request;   // bytes so far, until the line is whole
  std::string answer;
  std::size_t sent = 0;  // bytes of `answer`
  bool answering = false;
  bool done = false;  // closed at the end of this turn

  Client(UniqueFd f, TimePoint now) : fd(std::move(f)), accepted(now), deadline(now + kRequestTimeout) {}
};

// The control thread's poll loop over the listening socket, the clients and the stop eventfd.
class Loop {
 public:
  Loop(int listen_fd, int wake_fd, const RequestServer::Framing& framing, const RequestServer::Handler& handler)
      : listen_fd_(listen_fd), wake_fd_(wake_fd), framing_(framing), handler_(handler) {}

  // Until the wake eventfd fires. Nothing escapes: after an exception (out of memory) the clients
  // are dropped and the loop carries on after a pause.
  void run() noexcept {
    for (;;) {
      try {
        if (serve_until_woken()) return;
      } catch (...) {
        clients_.clear();
        accept_paused_until_ = Clock::now() + kAcceptBackoff;
      }
    }
  }

 private:
  bool serve_until_woken() {
    std::vector<pollfd> fds;
    fds.reserve(2 + RequestServer::kMaxClients);
    for (;;) {
      TimePoint now = Clock::now();
      std::erase_if(clients_, [&](const Client& c) { return c.deadline <= now; });
      const bool accepting = now >= accept_paused_until_;
      TimePoint wake_at = accepting ? TimePoint::max() : accept_paused_until_;
      fds.clear();
      fds.push_back({wake_fd_, POLLIN, 0});
      fds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});
      for (const Client& c : clients_) {
        fds.push_back({c.fd.get(), static_cast<short>(c.answering ? POLLOUT : POLLIN), 0});
        wake_at = std::min(wake_at, c.deadline);
      }
      if (::poll(fds.data(), fds.size(), poll_timeout(now, wake_at)) < 0) {
        if (errno != EINTR) ::poll(nullptr, 0, static_cast<int>(kAcceptBackoff.count()));  // ENOMEM
        continue;
      }
      if (fds[0].revents != 0) return true;
      for (std::size_t i = 0; i < clients_.size(); ++i) {
        if (fds[2 + i].revents == 0) continue;
        Client& c = clients_[i];
        if (c.answering)
          send_some(c);
        else
          receive(c);
      }
      std::erase_if(clients_, [](const Client& c) { return c.done; });
      if (fds[1].revents != 0) accept_pending();
    }
  }

  void accept_pending() {
    // A table's worth per turn, so a flood of connections cannot keep the loop from its clients.
    for (std::size_t i = 0; i < RequestServer::kMaxClients; ++i) {
      UniqueFd fd(::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (!fd.valid()) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) accept_paused_until_ = Clock::now() + kAcceptBackoff;
        return;
      }
      // Every slot busy answering: the newcomer is closed at once.
      if (clients_.size() >= RequestServer::kMaxClients && !displace_waiting_client()) continue;
      clients_.emplace_back(std::move(fd), Clock::now());
    }
  }

  // An idle client must not lock others out: the longest-waiting one without a whole request
  // makes room. Clients being answered are never displaced.
  bool displace_waiting_client() {
    auto oldest = clients_.end();
    for (auto it = clients_.begin(); it != clients_.end(); ++it)
      if (!it->answering && (oldest == clients_.end() || it->accepted < oldest->accepted)) oldest = it;
    if (oldest == clients_.end()) return false;
    clients_.erase(oldest);
    return true;
  }

  void receive(Client& c) {
    char buf[4096];
    const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) c.done = true;
      return;
    }
    if (n == 0) {  // the client stopped writing: answer what it sent without an end marker, if any
      if (c.request.empty() || !framing_.answer_at_eof)
        c.done = true;
      else
        answer(c, c.request);
      return;
    }
    c.request.append(buf, static_cast<std::size_t>(n));
    const std::size_t end = c.request.find(framing_.end);
    if (end == std::string::npos && c.request.size() <= framing_.max_request + framing_.end.size()) return;
    if (end == std::string::npos || end > framing_.max_request) {
      reply(c, framing_.too_long);
      return;
    }
    c.request.resize(end);
    answer(c, c.request);
  }

  void answer(Client& c, std::string_view request) {
    std::string text;
    try {
      text = handler_(request);
    } catch (const std::exception& e) {
      text = std::string("error: ") + e.what() + "\n";
    } catch (...) {
      text = "error: internal error\n";
    }
    reply(c, std::move(text));
  }

  void reply(Client& c, std::string text) {
    c.answer = std::move(text);
    c.request = {};
    c.answering = true;
    extend_send_deadline(c);
    send_some(c);  // usually all of it: the socket is writable
  }

  // One send per turn keeps a fast reader of a large answer from starving the others.
  void send_some(Client& c) {
    if (c.sent < c.answer.size()) {
      const std::string_view rest = std::string_view(c.answer).substr(c.sent);
      const ssize_t n = ::send(c.fd.get(), rest.data(), rest.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) c.done = true;  // the client left
        return;
      }
      c.sent += static_cast<std::size_t>(n);
      extend_send_deadline(c);
    }
    if (c.sent == c.answer.size()) {
      discard_unread(c.fd.get());
      c.done = true;
    }
  }

  static void extend_send_deadline(Client& c) {
    c.deadline = std::min(Clock::now() + kSendStallTimeout, c.accepted + kClientLifetime);
  }

  int listen_fd_;
  int wake_fd_;
  const RequestServer::Framing& framing_;
  const RequestServer::Handler& handler_;
  std::vector<Client> clients_;
  TimePoint accept_paused_until_{};
};

}  // namespace

struct RequestServer::State {
  UniqueFd listen_fd;
  UniqueFd wake_fd;  // eventfd: stop() wakes the thread through it
  Framing framing;
  Handler handler;
  std::thread thread;

  ~State() { stop(); }
  void stop() noexcept {
    if (!thread.joinable()) return;
    const std::uint64_t one = 1;
    (void)!::write(wake_fd.get(), &one, sizeof one);
    thread.join();
    std::uint64_t count = 0;
    (void)!::read(wake_fd.get(), &count, sizeof count);  // re-arm, so start() may run again
  }
};

RequestServer::RequestServer(UniqueFd listen_fd, Framing framing) : state_(std::make_unique<State>()) {
  state_->listen_fd = std::move(listen_fd);
  state_->wake_fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  state_->framing = std::move(framing);
}
RequestServer::RequestServer(RequestServer&&) noexcept = default;
RequestServer& RequestServer::operator=(RequestServer&&) noexcept = default;
RequestServer::~RequestServer() = default;

int RequestServer::listen_fd() const noexcept { return state_ ? state_->listen_fd.get() : -1; }

Status RequestServer::start(Handler handler) {
  if (!state_) return Error{"request server: start() after it was moved from"};
  if (!state_->wake_fd.valid()) return errno_error("eventfd");
  if (state_->thread.joinable()) return Error{"request server: already started"};
  if (!handler) return Error{"request server: start() without a handler"};
  state_->handler = std::move(handler);
  try {
    state_->thread = std::thread([s = state_.get()] {
      Loop(s->listen_fd.get(), s->wake_fd.get(), s->framing, s->handler).run();
    });
  } catch (const std::system_error& e) {
    return Error{std::string("cannot start a request thread: ") + e.what()};
  }
  return Ok{};
}

void RequestServer::stop() noexcept {
  if (state_) state_->stop();
}

}  // namespace vswitch
