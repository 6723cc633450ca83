#include "vswitch/control_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "vswitch/unique_fd.hpp"

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

}  // namespace

struct ControlServer::State {
  explicit State(UniqueFd listen_fd)
      : server(std::move(listen_fd), {.end = "\n",
                                      .max_request = ControlServer::kMaxRequestLine,
                                      .too_long = "error: request too long\n",
                                      .answer_at_eof = true}) {}
  RequestServer server;
  std::string path;  // set once bound: the file to remove
  dev_t device = 0;  // the bound socket file, so we never remove a successor's
  ino_t inode = 0;

  ~State() {
    server.stop();
    struct stat st{};
    if (!path.empty() && ::lstat(path.c_str(), &st) == 0 && st.st_dev == device && st.st_ino == inode)
      ::unlink(path.c_str());
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
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errno_error("socket(AF_UNIX)");
  const mode_t old_mask = ::umask(0077);  // only root talks to the switch
  const int rc = ::bind(fd.get(), as_sockaddr(*addr), sizeof *addr);
  ::umask(old_mask);
  if (rc != 0) return errno_error("cannot bind control socket " + path);
  if (::listen(fd.get(), static_cast<int>(kMaxClients)) != 0) return errno_error("listen on " + path);
  auto state = std::make_unique<State>(std::move(fd));
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    state->path = path;
    state->device = st.st_dev;
    state->inode = st.st_ino;
  }
  return ControlServer(std::move(state));
}

Status ControlServer::start(Handler handler) {
  if (!state_) return Error{"control server: start() after it was moved from"};
  return state_->server.start(std::move(handler));
}

void ControlServer::stop() noexcept {
  if (state_) state_->server.stop();
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
