// The trained runs the deploy e2e and ONNX tests share, made once per ctest run: the fixture test
// deploy.train_runs (FIXTURES_SETUP, tests/CMakeLists.txt) trains them into $SQ_DEPLOY_RUNS; a test binary run
// by hand (no $SQ_DEPLOY_RUNS) trains its own copy in a temp folder, once per process.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "e2e/e2e_util.hpp"

namespace sq_deploy_test {

// SQ-TWN small_cnn, two stages (r = 0.5, 1) of 150 steps of 32 on 2000 Fashion-MNIST images, 500 test images
// (dir/twn); an FWN run of 10 steps (dir/fwn). Writes dir/done last.
inline void train_runs(const std::string& dir) {
  std::vector<std::string> args = sq_e2e::tiny_run(dir + "/twn");
  args.insert(args.end(), {"--train-limit", "2000", "--iterations", "150"});
  const sq_e2e::RunResult run = sq_e2e::train_cifar(args);
  ASSERT_EQ(run.rc, 0) << run.out << run.err;
  std::vector<std::string> fwn = sq_e2e::tiny_run(dir + "/fwn");
  fwn[1] = SQ_SOURCE_DIR "/configs/quick-fwn-fashion-mnist.json";
  const auto stages_flag = std::find(fwn.begin(), fwn.end(), "--stages");
  fwn.erase(stages_flag, stages_flag + 2);  // FWN has one stage at r = 1
  fwn.insert(fwn.end(), {"--iterations", "10"});
  const sq_e2e::RunResult fwn_run = sq_e2e::train_cifar(fwn);
  ASSERT_EQ(fwn_run.rc, 0) << fwn_run.out << fwn_run.err;
  std::ofstream(dir + "/done") << "trained\n";
}

// The folder holding twn/ and fwn/; "" (with a test failure) when training failed.
inline std::string trained_runs() {
  if (const char* shared = std::getenv("SQ_DEPLOY_RUNS"); shared && *shared) {
    EXPECT_TRUE(sq_e2e::exists(std::string(shared) + "/done"))
        << "the fixture test deploy.train_runs did not finish training into " << shared;
    return shared;
  }
  static const std::string own = [] {
    const std::string dir = sq_e2e::fresh_dir("deploy_runs");
    train_runs(dir);
    return sq_e2e::exists(dir + "/done") ? dir : std::string();
  }();
  return own;
}

}  // namespace sq_deploy_test
