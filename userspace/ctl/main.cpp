// vswitchctl: asks a running vswitch for its ports, MAC table or counters, and makes keys
// (genkey, pubkey: WireGuard-compatible, no server needed).
#include <CLI/CLI.hpp>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "vswitch/control_socket.hpp"
#include "vswitch/keys.hpp"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "vswitchctl: %s\n", message.c_str());
  return 1;
}

// Writes a key line to stdout and wipes it; false (errno set) when stdout would not take it.
// write(2), not stdio: a stdio buffer would keep a copy of a private key until exit.
bool put_key_line(std::string& text) {
  text += '\n';  // key_to_base64 left room: no reallocation, no copy left behind
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  sodium_memzero(text.data(), text.size());
  return rest.empty();
}

// genkey: like `wg genkey`, but a key written into a file ends up mode 0600 whatever the umask.
int genkey() {
  struct stat st {};
  if (::fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) != 0600) {
    const bool exposed = (st.st_mode & 077) != 0;
    if (exposed)
      std::fprintf(stderr,
                   "vswitchctl: warning: the key file was accessible to group or others (mode %04o); "
                   "setting it to 0600. Consider umask 077 before creating key files.\n",
                   static_cast<unsigned>(st.st_mode & 07777));
    // Refuse rather than write a key others can read; stray x bits alone do not matter.
    if (::fchmod(STDOUT_FILENO, 0600) != 0 && exposed)
      return fail(std::string("cannot chmod 600 the key file: ") + std::strerror(errno));
  }
  const auto key = vswitch::PrivateKey::generate();
  std::string text = vswitch::key_to_base64(key.bytes());
  if (!put_key_line(text)) return fail(std::string("cannot write the key: ") + std::strerror(errno));
  return 0;
}

// pubkey: reads a private key from stdin, as `wg pubkey` does (trailing blanks allowed).
int pubkey() {
  char text[257];  // a key is 44 characters; more than this is not a key
  std::size_t len = 0;
  while (len < sizeof text) {
    const ssize_t n = ::read(STDIN_FILENO, text + len, sizeof text - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      sodium_memzero(text, sizeof text);
      return fail(std::string("cannot read stdin: ") + std::strerror(errno));
    }
    if (n == 0) break;
    len += static_cast<std::size_t>(n);
  }
  const std::size_t read = len;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (len > 0 && blank(text[len - 1])) --len;
  const auto key = read < sizeof text ? vswitch::private_key_from_base64(std::string_view(text, len))
                                      : std::nullopt;
  const bool zero = !key && read < sizeof text && vswitch::public_key_from_base64(std::string_view(text, len));
  sodium_memzero(text, sizeof text);
  if (!key) {
    return fail(zero ? "the all-zero key is not a private key"
                     : "stdin does not hold a private key (expected 44 base64 characters, as "
                       "`vswitchctl genkey` prints)");
  }
  std::string line = vswitch::key_to_base64(key->public_key());
  if (!put_key_line(line)) return fail(std::string("cannot write the key: ") + std::strerror(errno));
  return 0;
}

}  // namespace

// Exit statuses (documented in vswitchctl(8)): 0 done, 1 the request failed, 2 usage, 7 no
// server answers on the control socket (as systemctl's "not running").
constexpr int kFailed = 1, kUsage = 2, kNotRunning = 7;

int main(int argc, char** argv) {
  std::string path = vswitch::kDefaultControlPath;
  bool json = false;
  std::string what;
  CLI::App app{"vswitchctl: inspect a running vswitch, make keys"};
  app.set_version_flag("--version", "vswitchctl " VSWITCH_VERSION);
  app.add_option("--control", path, "the server's control socket")->capture_default_str();
  app.add_flag("--json", json, "machine-readable output (stable keys, a \"format\" version)");
  app.add_option("what", what,
                 "show | ports | fdb | stats | reload (ask the server) | genkey | pubkey (keys; no server needed)")
      ->required()
      ->check(CLI::IsMember({"show", "ports", "fdb", "stats", "reload", "genkey", "pubkey"}));
  app.allow_extras(false);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kUsage;
  }

  if (what == "genkey" || what == "pubkey") {
    if (sodium_init() < 0) return fail("cannot initialise libsodium");
    return what == "genkey" ? genkey() : pubkey();
  }
  auto answer = vswitch::control_request(path, json ? what + " json" : what);
  if (!answer) {
    const int err = errno;
    std::fprintf(stderr, "vswitchctl: %s\n", answer.error().message.c_str());
    return err == ENOENT || err == ECONNREFUSED ? kNotRunning : kFailed;
  }
  if (answer->starts_with("error:")) {
    std::fprintf(stderr, "vswitchctl: %s", answer->c_str());
    return kFailed;
  }
  std::fwrite(answer->data(), 1, answer->size(), stdout);
  return 0;
}
