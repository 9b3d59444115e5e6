// Fuzz target for the JSON configuration parser (RunConfig::from_json, then validate). The input is the file's
// text. A configuration that parses and validates must survive a round trip: from_json(to_json(c)) is accepted
// and prints the same JSON. Any sq::Error is a clean refusal; anything else is a finding.
#include <cstdint>
#include <string>

#include "sq/core/error.hpp"
#include "sq/train/run_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  sq::train::RunConfig config;
  try {
    config = sq::train::RunConfig::from_json(text, "fuzz.json");
    config.validate("fuzz.json");
  } catch (const sq::Error&) {
    return 0;
  }
  // Valid: derived values must be computable and the JSON form must read back as the same configuration.
  config.method();
  config.lr_schedule();
  config.identity();
  const std::string printed = config.to_json();
  sq::train::RunConfig again;
  try {
    again = sq::train::RunConfig::from_json(printed, "round trip");
    again.validate("round trip");
  } catch (const sq::Error&) {
    __builtin_trap();  // a valid configuration whose own JSON is refused
  }
  if (again.to_json() != printed) __builtin_trap();
  return 0;
}
