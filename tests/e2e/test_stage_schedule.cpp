// --stage-schedule: "restart" (the paper) gives every SQ stage a whole schedule and zeroed momentum; "continue"
// runs one schedule over all stages and keeps the momentum. Tiny two-stage SQ-TWN runs of 6 steps per stage.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "e2e_util.hpp"
#include "sq/train/checkpoint.hpp"

namespace {

using sq_e2e::RunResult;
using sq_e2e::train_cifar;

constexpr int kSteps = 6;  // per stage; 2 stages

std::vector<std::string> run_args(const std::string& dir, const std::string& stage_schedule,
                                  const std::vector<std::string>& more) {
  std::vector<std::string> args = sq_e2e::tiny_run(dir);
  args.insert(args.end(), {"--iterations", std::to_string(kSteps), "--log-every", "1", "--test-limit", "250",
                           "--bn-recalibrate-batches", "2", "--stage-schedule", stage_schedule});
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::vector<double> logged_lrs(const std::string& dir) {
  std::vector<double> lrs;
  for (const nlohmann::json& step : sq_e2e::of_kind(sq_e2e::read_metrics(dir + "/metrics.jsonl"), "step")) {
    lrs.push_back(step["lr"].get<double>());
  }
  return lrs;
}

// Number of tensors whose bytes differ between two checkpoints with the same tensor names.
int differing_tensors(const std::string& a_path, const std::string& b_path) {
  const sq::train::Checkpoint a = sq::train::read_checkpoint(a_path);
  const sq::train::Checkpoint b = sq::train::read_checkpoint(b_path);
  EXPECT_EQ(a.tensors.size(), b.tensors.size());
  int differing = 0;
  for (const auto& named : a.tensors) {
    const sq::Tensor* other = b.find(named.name);
    EXPECT_NE(other, nullptr) << named.name;
    if (other == nullptr || other->bytes() != named.tensor.bytes() ||
        std::memcmp(other->raw(), named.tensor.raw(), named.tensor.bytes()) != 0) {
      ++differing;
    }
  }
  return differing;
}

TEST(StageSchedule, ContinueRunsOneCosineOverAllStagesAndRestartOnePerStage) {
  const std::string restart = sq_e2e::fresh_dir("stage_schedule_restart");
  const std::string cont = sq_e2e::fresh_dir("stage_schedule_continue");
  for (const auto& [dir, mode] : {std::pair{restart, "restart"}, std::pair{cont, "continue"}}) {
    const RunResult run = train_cifar(run_args(dir, mode, {"--schedule", "cosine", "--lr", "0.1", "--min-lr", "0"}));
    ASSERT_EQ(run.rc, 0) << mode << "\n" << run.out << run.err;
  }
  const std::vector<double> r = logged_lrs(restart), c = logged_lrs(cont);
  ASSERT_EQ(r.size(), 2u * kSteps);
  ASSERT_EQ(c.size(), 2u * kSteps);
  for (int i = 0; i < 2 * kSteps; ++i) {
    const double per_stage = 0.05 * (1.0 + std::cos(M_PI * (i % kSteps) / kSteps));
    const double whole_run = 0.05 * (1.0 + std::cos(M_PI * i / (2.0 * kSteps)));
    EXPECT_NEAR(r[i], per_stage, 1e-12) << "restart, step " << i;
    EXPECT_NEAR(c[i], whole_run, 1e-12) << "continue, step " << i;
  }
  const nlohmann::json printed = nlohmann::json::parse(train_cifar({"--config", cont + "/config.json", "--print-config"}).out);
  EXPECT_EQ(printed["optim"]["stage_schedule"], "continue") << "saved with the run";
}

// With a constant learning rate the two modes differ only by the momentum at the stage boundary: the same first
// stage, another second one; without momentum they are the same run bit for bit.
TEST(StageSchedule, ContinueKeepsTheMomentumAcrossTheStageBoundary) {
  const std::string dirs[2][2] = {
      {sq_e2e::fresh_dir("stage_momentum_restart"), sq_e2e::fresh_dir("stage_momentum_continue")},
      {sq_e2e::fresh_dir("stage_nomomentum_restart"), sq_e2e::fresh_dir("stage_nomomentum_continue")}};
  const char* momentum[2] = {"0.9", "0"};
  const char* modes[2] = {"restart", "continue"};
  for (int m = 0; m < 2; ++m) {
    for (int k = 0; k < 2; ++k) {
      const RunResult run = train_cifar(run_args(dirs[m][k], modes[k], {"--schedule", "constant", "--momentum", momentum[m]}));
      ASSERT_EQ(run.rc, 0) << modes[k] << " momentum " << momentum[m] << "\n" << run.out << run.err;
    }
  }
  EXPECT_EQ(differing_tensors(dirs[0][0] + "/stage1.safetensors", dirs[0][1] + "/stage1.safetensors"), 0)
      << "the first stage is the same run in both modes";
  EXPECT_GT(differing_tensors(dirs[0][0] + "/last.safetensors", dirs[0][1] + "/last.safetensors"), 0)
      << "restart zeroes the momentum at stage 2, continue keeps it";
  EXPECT_EQ(differing_tensors(dirs[1][0] + "/last.safetensors", dirs[1][1] + "/last.safetensors"), 0)
      << "without momentum and with a constant lr the two modes are one run";
}

TEST(StageSchedule, AnUnknownModeIsRefusedNamingTheKey) {
  const RunResult run = train_cifar(run_args(sq_e2e::fresh_dir("stage_schedule_bad"), "sometimes", {}));
  EXPECT_NE(run.rc, 0);
  EXPECT_NE(run.err.find("optim.stage_schedule"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("continue"), std::string::npos) << "lists the choices: " << run.err;
}

}  // namespace
