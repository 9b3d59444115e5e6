// Helpers for the end-to-end tests: run train_cifar in-process, temp folders, metrics and checkpoint reading.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "sq/train/runner.hpp"

namespace sq_e2e {

struct RunResult {
  int rc = -1;
  std::string out, err;
};

inline RunResult train_cifar(std::vector<std::string> args) {
  args.insert(args.begin(), "train_cifar");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  RunResult r;
  r.rc = sq::train::train_cifar_main(static_cast<int>(argv.size()), argv.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

inline std::string fresh_dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "sq_e2e_" + name + "_" + std::to_string(::getpid());
  EXPECT_EQ(std::system(("rm -rf '" + dir + "'").c_str()), 0);
  return dir;
}

// Removes a test's output folder when the test passed (kept for inspection when it failed).
inline void clean_up(const std::string& dir) {
  if (!::testing::Test::HasFailure()) {
    EXPECT_EQ(std::system(("rm -rf '" + dir + "'").c_str()), 0);
  }
}

inline std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

inline std::vector<nlohmann::json> of_kind(const std::vector<nlohmann::json>& lines, const std::string& kind) {
  std::vector<nlohmann::json> out;
  for (const auto& l : lines) {
    if (l["kind"] == kind) out.push_back(l);
  }
  return out;
}

inline bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// A tiny two-stage SQ-TWN run on real Fashion-MNIST (a subset), a few seconds on one core.
inline std::vector<std::string> tiny_run(const std::string& output) {
  return {"--config",
          SQ_SOURCE_DIR "/configs/quick-sq-twn-fashion-mnist.json",
          "--device",
          "cpu",
          "--output",
          output,
          "--stages",
          "0.5,1",
          "--train-limit",
          "1000",
          "--test-limit",
          "500",
          "--batch",
          "32",
          "--iterations",
          "60",
          "--log-every",
          "10",
          "--checkpoint-every",
          "0",
          "--eval-batch",
          "250"};
}

}  // namespace sq_e2e
