// Command-line options shared by vswitch and vport (CLI11), and their config files.
#pragma once

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
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

// Adds --config FILE and parses the command line and that file (the command line wins). Returns
// -1 to go on, else the exit status, after printing the error (or --help). An unknown key, a
// malformed line or a bad value from the file is reported as FILE:LINE.
inline int parse_command_line(CLI::App& app, int argc, char** argv, const char* program) {
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
    if (!in) {
      std::fprintf(stderr, "%s: cannot read the config file %s: %s\n", program, path.c_str(), std::strerror(errno));
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    scan = scan_config(text.str(), [&](std::string_view key) {
      for (const CLI::Option* o : app.get_options())
        if (o->check_lname(std::string(key))) return true;
      return false;
    });
    if (!scan.error.empty()) {
      std::fprintf(stderr, "%s: %s:%zu: %s\n", program, path.c_str(), scan.error_line, scan.error.c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 names the option ("--fdb-max: Value 700 not in range ..."): name the line when the
    // value came from the file.
    const std::string message = e.what();
    if (e.get_exit_code() != 0 && !path.empty() && message.rfind("--", 0) == 0) {
      const std::string key = message.substr(2, message.find(':') - 2);
      if (const std::size_t line = line_of(scan, key); line != 0 && given(key) == 0) {
        std::fprintf(stderr, "%s: %s:%zu: %s\n", program, path.c_str(), line, message.c_str());
        return 2;
      }
    }
    return app.exit(e);
  }
  return -1;
}

}  // namespace vswitch
