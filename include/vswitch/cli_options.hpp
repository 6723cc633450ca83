// Command-line options shared by vswitch and vport (CLI11).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace vswitch {

inline void add_log_level_option(CLI::App& app, std::string& level) {
  app.add_option("--log-level", level, "error, warn, info or debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
      ->capture_default_str();
}

}  // namespace vswitch
