// The in-tree sd_notify: datagrams reach a real AF_UNIX socket (by path and in the abstract
// namespace), the watchdog variables are read as sd_watchdog_enabled(3) reads them, and without
// $NOTIFY_SOCKET nothing is sent.
#include "vswitch/systemd_notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

using namespace vswitch;
using namespace std::chrono_literals;

namespace {

// A listening datagram socket, as systemd's; `name` starting with '@' is abstract.
struct Listener {
  explicit Listener(const std::string& name) : fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, name.data(), name.size());
    if (name[0] == '@') a.sun_path[0] = '\0';
    else ::unlink(name.c_str());
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size())), 0);
  }
  std::string receive() {
    char buf[256];
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
  UniqueFd fd;
};

struct Env {  // sets variables for one test, restores them after
  Env(const char* notify, const char* usec, const char* pid) {
    set("NOTIFY_SOCKET", notify);
    set("WATCHDOG_USEC", usec);
    set("WATCHDOG_PID", pid);
  }
  ~Env() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }
  static void set(const char* k, const char* v) {
    if (v != nullptr) ::setenv(k, v, 1);
    else ::unsetenv(k);
  }
};

}  // namespace

TEST(SystemdNotify, SendsToAPathSocket) {
  const std::string path = "/tmp/vswitch-notify-test-" + std::to_string(::getpid());
  Listener l(path);
  Env env(path.c_str(), nullptr, nullptr);
  SystemdNotifier n;
  ASSERT_TRUE(n.enabled());
  EXPECT_TRUE(n.notify("READY=1\nSTATUS=up"));
  EXPECT_EQ(l.receive(), "READY=1\nSTATUS=up");
  n.reloading();
  const std::string r = l.receive();
  EXPECT_EQ(r.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << r;
  ::unlink(path.c_str());
}

TEST(SystemdNotify, SendsToAnAbstractSocket) {
  const std::string name = "@vswitch-notify-test-" + std::to_string(::getpid());
  Listener l(name);
  Env env(name.c_str(), nullptr, nullptr);
  SystemdNotifier n;
  EXPECT_TRUE(n.notify("STOPPING=1"));
  EXPECT_EQ(l.receive(), "STOPPING=1");
}

TEST(SystemdNotify, WithoutTheVariableNothingIsSent) {
  Env env(nullptr, "1000000", nullptr);
  SystemdNotifier n;
  EXPECT_FALSE(n.enabled());
  EXPECT_FALSE(n.notify("READY=1"));
  Env relative("relative/path", nullptr, nullptr);  // neither a path nor abstract: ignored
  EXPECT_FALSE(SystemdNotifier().enabled());
}

TEST(SystemdNotify, WatchdogPingsAtHalfTheTimeout) {
  const std::string name = "@vswitch-watchdog-test-" + std::to_string(::getpid());
  Listener l(name);
  Env env(name.c_str(), "2000000", nullptr);
  SystemdNotifier n;
  ASSERT_EQ(n.watchdog_timeout(), std::chrono::microseconds(2000000));
  const auto t0 = std::chrono::steady_clock::now();
  n.watchdog_tick(t0);
  EXPECT_EQ(l.receive(), "WATCHDOG=1");
  n.watchdog_tick(t0 + 900ms);
  EXPECT_EQ(l.receive(), "");
  n.watchdog_tick(t0 + 1000ms);
  EXPECT_EQ(l.receive(), "WATCHDOG=1");
}

TEST(SystemdNotify, WatchdogVariablesParsedAsSystemdDoes) {
  EXPECT_EQ(parse_watchdog("5000000", nullptr, 42), std::chrono::microseconds(5000000));
  EXPECT_EQ(parse_watchdog("5000000", "42", 42), std::chrono::microseconds(5000000));
  EXPECT_FALSE(parse_watchdog("5000000", "43", 42));  // meant for another process
  EXPECT_FALSE(parse_watchdog(nullptr, nullptr, 42));
  EXPECT_FALSE(parse_watchdog("0", nullptr, 42));
  EXPECT_FALSE(parse_watchdog("12x", nullptr, 42));
  EXPECT_FALSE(parse_watchdog("", nullptr, 42));
  EXPECT_FALSE(parse_watchdog("-5", nullptr, 42));
}
