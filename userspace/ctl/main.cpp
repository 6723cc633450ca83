// vswitchctl: asks a running vswitch for its ports, MAC table or counters.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "vswitch/control_socket.hpp"

int main(int argc, char** argv) {
  std::string path = vswitch::kDefaultControlPath;
  bool json = false;
  std::string what;
  CLI::App app{"vswitchctl: inspect a running vswitch"};
  app.add_option("--control", path, "the server's control socket")->capture_default_str();
  app.add_flag("--json", json, "machine-readable output (stable keys)");
  app.add_option("what", what, "ports | fdb | stats")
      ->required()
      ->check(CLI::IsMember({"ports", "fdb", "stats"}));
  app.allow_extras(false);
  CLI11_PARSE(app, argc, argv);

  auto answer = vswitch::control_request(path, json ? what + " json" : what);
  if (!answer) {
    std::fprintf(stderr, "vswitchctl: %s\n", answer.error().message.c_str());
    return 1;
  }
  if (answer->starts_with("error:")) {
    std::fprintf(stderr, "vswitchctl: %s", answer->c_str());
    return 1;
  }
  std::fwrite(answer->data(), 1, answer->size(), stdout);
  return 0;
}
