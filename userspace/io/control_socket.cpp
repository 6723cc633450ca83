#include "vswitch/control_socket.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "vswitch/time.hpp"
#include "vswitch/unique_fd.hpp"

namespace vswitch {
namespace {

using namespace std::chrono_literals;

constexpr auto kRequestTimeout = 5s;            // from accept to a whole request line
constexpr auto kSendStallTimeout = 2s;          // the answer must move at least this often...
constexpr auto kClientLifetime = 30s;           // ...and a trickling reader loses its slot after this
constexpr auto kAcceptBackoff = 100ms;          // after EMFILE and the like: retry later, never spin
constexpr std::size_t kDrainLimit = 64 * 1024;  // unread input discarded before a close

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return Error{"control socket path '" + path + "' is empty or too long"};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

const sockaddr* as_sockaddr(const sockaddr_un& addr) { return reinterpret_cast<const sockaddr*>(&addr); }

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

std::string file_kind(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "an unknown kind of file";
}

Status create_parent_directory(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return Ok{};
  const std::string dir = path.substr(0, slash);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("cannot create control directory " + dir);
  return Ok{};
}

// Makes room for our socket at `path`: nothing there, or a dead server's socket (removed), is
// fine. Anything else is an error and stays untouched: lstat, so a symlink is judged itself and
// never followed to a victim.
Status clear_stale_socket(const std::string& path, const sockaddr_un& addr) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Ok{};
    return errno_error("cannot inspect control socket path " + path);
  }
  if (!S_ISSOCK(st.st_mode))
    return Error{"control socket path " + path + " is " + file_kind(st.st_mode) +
                 ", not a socket; refusing to replace it (remove it or choose another --control)"};
  // Non-blocking, so a live server with a full backlog answers EAGAIN instead of stalling us.
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe.valid()) return errno_error("socket(AF_UNIX)");
  if (::connect(probe.get(), as_sockaddr(addr), sizeof addr) == 0 || errno == EAGAIN || errno == EINPROGRESS)
    return Error{"control socket " + path + " is in use by another vswitch (use --control)"};
  if (errno != ECONNREFUSED) return errno_error("cannot probe control socket " + path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("cannot remove stale control socket " + path);
  return Ok{};
}

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

struct ControlClient {
  UniqueFd fd;
  TimePoint accepted;
  TimePoint deadline;    // closed when it passes
  std::string request;   // bytes so far, until the line is whole
  std::string answer;
  std::size_t sent = 0;  // bytes of `answer`
  bool answering = false;
  bool done = false;  // closed at the end of this turn

  ControlClient(UniqueFd f, TimePoint now) : fd(std::move(f)), accepted(now), deadline(now + kRequestTimeout) {}
};

// The control thread's poll loop over the listening socket, the clients and the stop eventfd.
class ControlLoop {
 public:
  ControlLoop(int listen_fd, int wake_fd, const ControlServer::Handler& handler)
      : listen_fd_(listen_fd), wake_fd_(wake_fd), handler_(handler) {}

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
    fds.reserve(2 + ControlServer::kMaxClients);
    for (;;) {
      TimePoint now = Clock::now();
      std::erase_if(clients_, [&](const ControlClient& c) { return c.deadline <= now; });
      const bool accepting = now >= accept_paused_until_;
      TimePoint wake_at = accepting ? TimePoint::max() : accept_paused_until_;
      fds.clear();
      fds.push_back({wake_fd_, POLLIN, 0});
      fds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});
      for (const ControlClient& c : clients_) {
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
        ControlClient& c = clients_[i];
        if (c.answering)
          send_some(c);
        else
          receive(c);
      }
      std::erase_if(clients_, [](const ControlClient& c) { return c.done; });
      if (fds[1].revents != 0) accept_pending();
    }
  }

  void accept_pending() {
    // A table's worth per turn, so a flood of connections cannot keep the loop from its clients.
    for (std::size_t i = 0; i < ControlServer::kMaxClients; ++i) {
      UniqueFd fd(::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (!fd.valid()) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) accept_paused_until_ = Clock::now() + kAcceptBackoff;
        return;
      }
      // Every slot busy answering: the newcomer is closed at once.
      if (clients_.size() >= ControlServer::kMaxClients && !displace_waiting_client()) continue;
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

  void receive(ControlClient& c) {
    char buf[512];
    const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) c.done = true;
      return;
    }
    if (n == 0) {  // the client stopped writing: answer a last line without its '\n', if any
      if (c.request.empty())
        c.done = true;
      else
        answer(c, c.request);
      return;
    }
    c.request.append(buf, static_cast<std::size_t>(n));
    const std::size_t end = c.request.find('\n');
    if (end == std::string::npos && c.request.size() <= ControlServer::kMaxRequestLine) return;
    if (end == std::string::npos || end > ControlServer::kMaxRequestLine) {
      reply(c, "error: request too long\n");
      return;
    }
    c.request.resize(end);
    answer(c, c.request);
  }

  void answer(ControlClient& c, std::string_view request) {
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

  void reply(ControlClient& c, std::string text) {
    c.answer = std::move(text);
    c.request = {};
    c.answering = true;
    extend_send_deadline(c);
    send_some(c);  // usually all of it: the socket is writable
  }

  // One send per turn keeps a fast reader of a large answer from starving the others.
  void send_some(ControlClient& c) {
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

  static void extend_send_deadline(ControlClient& c) {
    c.deadline = std::min(Clock::now() + kSendStallTimeout, c.accepted + kClientLifetime);
  }

  int listen_fd_;
  int wake_fd_;
  const ControlServer::Handler& handler_;
  std::vector<ControlClient> clients_;
  TimePoint accept_paused_until_{};
};

}  // namespace

struct ControlServer::State {
  UniqueFd listen_fd;
  UniqueFd wake_fd;  // eventfd: stop() wakes the thread through it
  std::string path;  // set once bound: the file to remove
  dev_t device = 0;  // the bound socket file, so we never remove a successor's
  ino_t inode = 0;
  Handler handler;
  std::thread thread;

  ~State() {
    stop();
    struct stat st{};
    if (!path.empty() && ::lstat(path.c_str(), &st) == 0 && st.st_dev == device && st.st_ino == inode)
      ::unlink(path.c_str());
  }

  void stop() noexcept {
    if (!thread.joinable()) return;
    const std::uint64_t one = 1;
    (void)!::write(wake_fd.get(), &one, sizeof one);
    thread.join();
    std::uint64_t count = 0;
    (void)!::read(wake_fd.get(), &count, sizeof count);  // re-arm, so start() may run again
  }
};

ControlServer::ControlServer(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
ControlServer::ControlServer(ControlServer&&) noexcept = default;
ControlServer& ControlServer::operator=(ControlServer&&) noexcept = default;
ControlServer::~ControlServer() = default;

Result<ControlServer> ControlServer::listen(const std::string& path) {
  auto addr = unix_address(path);
  if (!addr) return addr.error();
  if (auto made = create_parent_directory(path); !made) return made.error();
  if (auto cleared = clear_stale_socket(path, *addr); !cleared) return cleared.error();
  auto state = std::make_unique<State>();
  state->wake_fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!state->wake_fd.valid()) return errno_error("eventfd");
  state->listen_fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!state->listen_fd.valid()) return errno_error("socket(AF_UNIX)");
  const mode_t old_mask = ::umask(0077);  // only root talks to the switch
  const int rc = ::bind(state->listen_fd.get(), as_sockaddr(*addr), sizeof *addr);
  ::umask(old_mask);
  if (rc != 0) return errno_error("cannot bind control socket " + path);
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    state->path = path;
    state->device = st.st_dev;
    state->inode = st.st_ino;
  }
  if (::listen(state->listen_fd.get(), static_cast<int>(kMaxClients)) != 0) return errno_error("listen on " + path);
  return ControlServer(std::move(state));
}

Status ControlServer::start(Handler handler) {
  if (!state_) return Error{"control server: start() after it was moved from"};
  if (state_->thread.joinable()) return Error{"control server: already started"};
  if (!handler) return Error{"control server: start() without a handler"};
  state_->handler = std::move(handler);
  try {
    state_->thread = std::thread([s = state_.get()] {
      ControlLoop(s->listen_fd.get(), s->wake_fd.get(), s->handler).run();
    });
  } catch (const std::system_error& e) {
    return Error{std::string("cannot start the control thread: ") + e.what()};
  }
  return Ok{};
}

void ControlServer::stop() noexcept {
  if (state_) state_->stop();
}

Result<std::string> control_request(const std::string& path, std::string_view request) {
  auto addr = unix_address(path);
  if (!addr) return addr.error();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket(AF_UNIX)");
  // Before connect: a blocking connect to a server whose backlog is full waits up to SO_SNDTIMEO.
  set_timeouts(fd.get(), 5000);
  if (::connect(fd.get(), as_sockaddr(*addr), sizeof *addr) != 0)
    return errno_error("cannot connect to " + path + " (is vswitch running? see --control)");
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
