// --resume refuses options that change the run's meaning (lr, iterations, batch, ...) unless
// --allow-config-change; per-process options (device, log-every, max-steps, eval-batch) are free and not saved.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e_util.hpp"
#include "sq/train/checkpoint.hpp"

namespace {

using sq_e2e::RunResult;
using sq_e2e::train_cifar;

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(ResumeConfig, ChangedMeaningIsRefusedListingEveryKeyUnlessAllowed) {
  const std::string dir = sq_e2e::fresh_dir("resume_config");
  const RunResult first = train_cifar(with(sq_e2e::tiny_run(dir), {"--max-steps", "20"}));
  ASSERT_EQ(first.rc, sq::train::kExitStepLimit) << first.err;
  const std::string ckpt = dir + "/last.safetensors";

  // This process's per-process values (--device cpu, --max-steps 20, --eval-batch 250) are not
  // saved: the checkpoint holds the defaults.
  const nlohmann::json saved = nlohmann::json::parse(sq::train::read_checkpoint(ckpt).meta("config"));
  const nlohmann::json defaults = nlohmann::json::parse(sq::train::RunConfig{}.to_json());
  for (const char* key : {"device", "max_steps", "math", "cuda_graph", "deterministic"}) {
    EXPECT_EQ(saved["run"][key], defaults["run"][key]) << key << " is per process: " << saved.dump();
  }
  EXPECT_TRUE(saved["optim"].contains("lr"));

  const RunResult changed =
      train_cifar(with(sq_e2e::tiny_run(dir), {"--resume", ckpt, "--lr", "0.0123", "--iterations", "70"}));
  EXPECT_EQ(changed.rc, 1);
  for (const char* needle : {"optim.lr", "0.0123", "optim.iterations", "70", "--allow-config-change"}) {
    EXPECT_NE(changed.err.find(needle), std::string::npos) << needle << " missing from: " << changed.err;
  }
  EXPECT_EQ(sq::train::read_checkpoint(ckpt).meta("global_step"), "20") << "a refused resume trains nothing";

  // Per-process options differ freely.
  const RunResult per_process =
      train_cifar(with(sq_e2e::tiny_run(dir), {"--resume", ckpt, "--max-steps", "5"}));
  ASSERT_EQ(per_process.rc, sq::train::kExitStepLimit) << per_process.err;
  EXPECT_EQ(sq::train::read_checkpoint(ckpt).meta("global_step"), "25");

  const RunResult allowed = train_cifar(
      with(sq_e2e::tiny_run(dir), {"--resume", ckpt, "--lr", "0.0123", "--max-steps", "5", "--allow-config-change"}));
  ASSERT_EQ(allowed.rc, sq::train::kExitStepLimit) << allowed.err;
  EXPECT_NE(allowed.out.find("optim.lr"), std::string::npos) << "an accepted change is still reported";
  EXPECT_EQ(sq::train::read_checkpoint(ckpt).meta("global_step"), "30");
  sq_e2e::clean_up(dir);
}

}  // namespace
