// Shared by sq_eval, sq_export and sq_infer: train_cifar's exit codes (apps/train_cifar/README.md) and one
// wrapper that turns sq::Error into "<app>: error: <message>" on stderr with exit code 1.
#pragma once

#include <CLI/CLI.hpp>
#include <exception>
#include <ostream>
#include <string>

#include "sq/core/error.hpp"
#include "sq/version.hpp"

namespace sq::deploy::detail {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;  // bad checkpoint, packed file, data or option value: the message says which
constexpr int kExitUsage = 2;  // unknown option, missing argument

// Parses (with --version, as every app has); returns -1 to continue, else the exit code (0 after --help or
// --version, 2 on a usage error).
inline int parse_command_line(CLI::App& app, int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  const std::string version_line = app.get_name() + " " + version();
  app.set_version_flag("--version", version_line, "print the version (git describe) and exit");
  // CLI11 checks required positionals before it runs the version flag's callback: answer --version first.
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--version") {
      out << version_line << "\n";
      return kExitOk;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return -1;
}

template <class Body>
int run_reporting_errors(const std::string& app, std::ostream& err, Body&& body) {
  try {
    return body();
  } catch (const Error& e) {
    err << app << ": error: " << e.message() << "\n";
  } catch (const std::exception& e) {
    err << app << ": error: " << e.what() << "\n";
  }
  return kExitError;
}

}  // namespace sq::deploy::detail
