// Runs train_cifar's command-line parser on a list of arguments, as main() would, capturing what it prints.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "sq/train/run_config.hpp"

namespace sq_test {

inline int parse(sq::train::CommandLine& cl, std::vector<const char*> args, std::string* out_text = nullptr,
                 std::string* err_text = nullptr) {
  args.insert(args.begin(), "train_cifar");
  std::ostringstream out, err;
  const int rc = cl.parse(static_cast<int>(args.size()), args.data(), out, err);
  if (out_text) *out_text = out.str();
  if (err_text) *err_text = err.str();
  return rc;
}

}  // namespace sq_test
