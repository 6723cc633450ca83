// Command-line options shared by vswitch and vport (CLI11), and their config files.
#pragma once

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "vswitch/config_file.hpp"

namespace vswitch {

inline void add_log_level_option(CLI::App& app, std::string& level) {
  app.add_option("--log-level", level, "error, warn, info or debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
      ->capture_default_str();
}

// Adds --config FILE and parses the command line and that file (the command line wins). An
// unknown key, a malformed line or a bad value from the file is reported as FILE:LINE.
// Returns an empty string on success, else the error; `help` is set (and the error empty) when
// the command line asked for --help or --version, which `app.exit` then prints.
inline std::string parse_options(CLI::App& app, int argc, char** argv, std::optional<CLI::Error>& help) {
  app.set_config("--config", "", "read options from FILE: every long option is a key ('fdb-max = 65536'); "
                                 "the command line overrides the file");
  app.allow_config_extras(false);
  std::string path;
  auto given = [&](std::string_view key) {
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      if (a.size() >= key.size() + 2 && a.substr(0, 2) == "--" && a.substr(2, key.size()) == key &&
          (a.size() == key.size() + 2 || a[key.size() + 2] == '='))
        return i;
    }
    return 0;
  };
  if (const int i = given("config"); i != 0) {
    const std::string_view a = argv[i];
    path = a.size() > 9 ? std::string(a.substr(9)) : (i + 1 < argc ? argv[i + 1] : "");
  }
  ConfigScan scan;
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return "cannot read the config file " + path + ": " + std::strerror(errno);
    std::stringstream text;
    text << in.rdbuf();
    scan = scan_config(text.str(), [&](std::string_view key) {
      for (const CLI::Option* o : app.get_options())
        if (o->check_lname(std::string(key))) return true;
      return false;
    });
    if (!scan.error.empty()) return path + ":" + std::to_string(scan.error_line) + ": " + scan.error;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help, --version
      help.emplace(e);
      return {};
    }
    // CLI11 names the option ("--fdb-max: Value 700 not in range ..."): name the line when the
    // value came from the file.
    const std::string message = e.what();
    if (!path.empty() && message.rfind("--", 0) == 0) {
      const std::string key = message.substr(2, message.find(':') - 2);
      if (const std::size_t line = line_of(scan, key); line != 0 && given(key) == 0)
        return path + ":" + std::to_string(line) + ": " + message;
    }
    return message;
  }
  return {};
}

// parse_options for main(): returns -1 to go on, else the exit status, after printing the
// error (status 2) or what --help/--version asked for (status 0).
inline int parse_command_line(CLI::App& app, int argc, char** argv, const char* program) {
  std::optional<CLI::Error> help;
  const std::string error = parse_options(app, argc, argv, help);
  if (help) return app.exit(*help);
  if (error.empty()) return -1;
  std::fprintf(stderr, "%s: %s\n", program, error.c_str());
  std::fprintf(stderr, "Run with --help for more information.\n");
  return 2;
}

}  // namespace vswitch
