// Key and members files: open, check, read, hand the text to the pure parsers.
#include "vswitch/key_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "vswitch/unique_fd.hpp"

namespace vswitch {
namespace {

constexpr std::size_t kMaxKeyFile = 256;            // a key is 44 bytes; anything longer is wrong
constexpr std::size_t kMaxMembersFile = 16u << 20;  // ~200k members

// Zeroes a buffer on every way out of the scope that filled it.
class WipeOnExit {
 public:
  WipeOnExit(void* p, std::size_t n) : p_(p), n_(n) {}
  ~WipeOnExit() { sodium_memzero(p_, n_); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  void* p_;
  std::size_t n_;
};

// Reads up to `size` bytes; returns how many, or -1 with errno set.
ssize_t read_up_to(int fd, char* buf, std::size_t size) {
  std::size_t used = 0;
  while (used < size) {
    const ssize_t n = ::read(fd, buf + used, size - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(used);
}

Result<UniqueFd> open_file(const std::string& what, const std::string& path, struct stat& st) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return errno_error("cannot open " + what + " " + path);
  if (::fstat(fd.get(), &st) != 0) return errno_error("cannot stat " + what + " " + path);
  if (S_ISDIR(st.st_mode)) return Error{what + " " + path + " is a directory"};
  return fd;
}

std::string mode_string(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

Result<PrivateKey> load_private_key_file(const std::string& path, std::string& warning) {
  const std::string what = "private key file";
  struct stat st {};
  auto fd = open_file(what, path, st);
  if (!fd) return fd.error();
  // Checked on the open file, not the path: what we read is what we judged.
  if (S_ISREG(st.st_mode) && (st.st_mode & 077) != 0)
    warning = what + " " + path + " is accessible to group or others (mode " + mode_string(st.st_mode) +
              "); run: chmod 600 " + path;

  char text[kMaxKeyFile + 1];
  WipeOnExit wipe(text, sizeof text);
  const ssize_t n = read_up_to(fd->get(), text, sizeof text);
  if (n < 0) return errno_error("cannot read " + what + " " + path);
  std::size_t len = static_cast<std::size_t>(n);
  if (len > kMaxKeyFile) return Error{what + " " + path + " is too long for a key"};
  // One line ending or one blank, as an editor or `echo` leaves it.
  if (len >= 2 && text[len - 2] == '\r' && text[len - 1] == '\n')
    len -= 2;
  else if (len >= 1 && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\t'))
    len -= 1;
  if (len == 0) return Error{what + " " + path + " is empty"};

  const std::string_view line(text, len);
  auto key = private_key_from_base64(line);
  if (key) return std::move(*key);
  // The format was right but the key is the zero one, which WireGuard reads as "no key".
  if (public_key_from_base64(line)) return Error{what + " " + path + " holds the all-zero key"};
  // Never quote the content: it may be a real key with a typo in it.
  return Error{what + " " + path + " does not hold a key (expected 44 base64 characters, as "
               "`vswitchctl genkey` writes)"};
}

Result<std::vector<Member>> load_members_file(const std::string& path) {
  struct stat st {};
  auto fd = open_file("members file", path, st);
  if (!fd) return fd.error();
  std::string text;
  char chunk[64 * 1024];
  for (;;) {
    const ssize_t n = read_up_to(fd->get(), chunk, sizeof chunk);
    if (n < 0) return errno_error("cannot read members file " + path);
    text.append(chunk, static_cast<std::size_t>(n));
    if (text.size() > kMaxMembersFile)
      return Error{"members file " + path + " is larger than " + std::to_string(kMaxMembersFile >> 20) +
                   " MiB"};
    if (static_cast<std::size_t>(n) < sizeof chunk) break;
  }
  return parse_members(text, path);
}

}  // namespace vswitch
