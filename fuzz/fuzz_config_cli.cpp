// Fuzz target for train_cifar's command line (CommandLine::parse, then the overrides on the default configuration
// and validate). The input is the argument list, one argument per line. Usage errors must come back as an exit
// code with the text written to the streams; a configuration that validates must survive a JSON round trip.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "sq/core/error.hpp"
#include "sq/train/run_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxArgs = 64;
  std::vector<std::string> args = {"train_cifar"};
  std::string current;
  for (std::size_t i = 0; i < size && args.size() < kMaxArgs; ++i) {
    if (data[i] == '\n') {
      args.push_back(current);
      current.clear();
    } else if (data[i] != '\0') {  // argv strings cannot hold NUL
      current.push_back(static_cast<char>(data[i]));
    }
  }
  if (!current.empty() && args.size() < kMaxArgs) args.push_back(current);
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());

  sq::train::CommandLine command_line;
  std::ostringstream out, err;
  const int code = command_line.parse(static_cast<int>(argv.size()), argv.data(), out, err);
  if (code >= 0) {
    if (code != 0 && err.str().empty() && out.str().empty()) __builtin_trap();  // an error without a message
    return 0;
  }
  sq::train::RunConfig config;
  try {
    command_line.apply_overrides(config);
    config.validate("command line");
  } catch (const sq::Error&) {
    return 0;
  }
  const std::string printed = config.to_json();
  try {
    if (sq::train::RunConfig::from_json(printed, "round trip").to_json() != printed) __builtin_trap();
  } catch (const sq::Error&) {
    __builtin_trap();  // a valid configuration whose own JSON is refused
  }
  return 0;
}
