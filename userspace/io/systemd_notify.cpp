#include "vswitch/systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vswitch {

std::optional<std::chrono::microseconds> parse_watchdog(const char* usec, const char* for_pid, long pid) noexcept {
  if (usec == nullptr) return std::nullopt;
  unsigned long long us = 0;
  const char* end = usec + std::strlen(usec);
  if (auto [p, ec] = std::from_chars(usec, end, us); ec != std::errc{} || p != end || us == 0) return std::nullopt;
  if (for_pid != nullptr) {
    long want = 0;
    const char* pend = for_pid + std::strlen(for_pid);
    if (auto [p, ec] = std::from_chars(for_pid, pend, want); ec != std::errc{} || p != pend || want != pid)
      return std::nullopt;
  }
  return std::chrono::microseconds(us);
}

SystemdNotifier::SystemdNotifier() {
  watchdog_ = parse_watchdog(std::getenv("WATCHDOG_USEC"), std::getenv("WATCHDOG_PID"), static_cast<long>(::getpid()));
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || (path[0] != '/' && path[0] != '@')) return;
  const std::size_t len = std::strlen(path);
  if (len < 2 || len >= sizeof(sockaddr_un::sun_path)) return;
  std::memcpy(address_, path, len);
  if (address_[0] == '@') address_[0] = '\0';  // the abstract namespace
  address_len_ = static_cast<unsigned>(len);
  fd_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
}

bool SystemdNotifier::notify(std::string_view state) const noexcept {
  if (!fd_.valid()) return false;
  sockaddr_un to{};
  to.sun_family = AF_UNIX;
  std::memcpy(to.sun_path, address_, address_len_);
  const auto to_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_len_);
  const ssize_t n = ::sendto(fd_.get(), state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                             reinterpret_cast<const sockaddr*>(&to), to_len);
  return n == static_cast<ssize_t>(state.size());
}

void SystemdNotifier::watchdog_tick(std::chrono::steady_clock::time_point now) noexcept {
  if (!watchdog_ || now - last_watchdog_ < *watchdog_ / 2) return;
  if (notify("WATCHDOG=1")) last_watchdog_ = now;
}

void SystemdNotifier::reloading() const noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  char msg[80];
  const int n = std::snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
                              static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                                  static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL);
  if (n > 0) notify(std::string_view(msg, static_cast<std::size_t>(n)));
}

}  // namespace vswitch
