#include "vswitch/signal_fd.hpp"

#include <signal.h>
#include <sys/signalfd.h>

namespace vswitch {

Result<SignalFd> SignalFd::create(std::initializer_list<int> extra) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  for (const int sig : extra) sigaddset(&set, sig);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return errno_error("sigprocmask");
  SignalFd s;
  s.fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!s.fd_.valid()) return errno_error("signalfd");
  return s;
}

int SignalFd::read() noexcept {
  signalfd_siginfo info{};
  if (::read(fd_.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return 0;
  return static_cast<int>(info.ssi_signo);
}

}  // namespace vswitch
