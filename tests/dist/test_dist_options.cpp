// train_cifar's data-parallel options (--sync-bn, --distributed, --dist-timeout, --replica-check-every): parsed,
// validated with messages naming the key, saved in the run configuration, and compared at a resume only when they
// change the numbers (sync BN), never when they are per process (mode, timeout, check period).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sq/core/error.hpp"
#include "sq/train/run_config.hpp"
#include "support/command_line.hpp"

namespace {

using sq::train::CommandLine;
using sq::train::RunConfig;

std::string validation_error(const RunConfig& c) {
  try {
    c.validate("test");
  } catch (const sq::Error& e) {
    return e.what();
  }
  return "";
}

TEST(DistOptions, CommandLineSetsTheRunKeys) {
  CommandLine cl;
  ASSERT_EQ(
      sq_test::parse(cl, {"--sync-bn", "--distributed", "on", "--dist-timeout", "7.5", "--replica-check-every", "3"}),
      -1);
  RunConfig c;
  EXPECT_FALSE(c.run.sync_bn);
  EXPECT_EQ(c.run.distributed, "auto");
  EXPECT_EQ(c.run.dist_timeout_s, 300);
  EXPECT_EQ(c.run.replica_check_every, 100);
  cl.apply_overrides(c);
  EXPECT_TRUE(c.run.sync_bn);
  EXPECT_EQ(c.run.distributed, "on");
  EXPECT_DOUBLE_EQ(c.run.dist_timeout_s, 7.5);
  EXPECT_EQ(c.run.replica_check_every, 3);
  const RunConfig back = RunConfig::from_json(c.to_json(), "round trip");
  EXPECT_EQ(back.to_json(), c.to_json());
}

TEST(DistOptions, HelpExplainsThem) {
  CommandLine cl;
  std::string out;
  ASSERT_EQ(sq_test::parse(cl, {"--help"}, &out), 0);
  for (const char* option : {"--sync-bn", "--distributed", "--dist-timeout", "--replica-check-every", "mpirun"})
    EXPECT_NE(out.find(option), std::string::npos) << option << " missing from --help";
}

TEST(DistOptions, BadValuesAreRefusedNamingTheKey) {
  RunConfig c;
  c.run.distributed = "yes";
  EXPECT_NE(validation_error(c).find("run.distributed must be auto"), std::string::npos) << validation_error(c);
  c = RunConfig{};
  c.run.dist_timeout_s = -1;
  EXPECT_NE(validation_error(c).find("run.dist_timeout_s"), std::string::npos) << validation_error(c);
  c = RunConfig{};
  c.run.replica_check_every = -2;
  EXPECT_NE(validation_error(c).find("run.replica_check_every"), std::string::npos) << validation_error(c);
  EXPECT_THROW(RunConfig::from_json(R"({"run": {"sync_bn": "yes"}})", "f.json"), sq::Error);
  CommandLine cl;
  std::string out, err;
  EXPECT_GT(sq_test::parse(cl, {"--replica-check-every", "x"}, &out, &err), 0);
  EXPECT_NE(err.find("--replica-check-every"), std::string::npos) << err;
}

TEST(DistOptions, SyncBnIsPartOfTheRunTheOthersArePerProcess) {
  RunConfig saved;
  RunConfig per_process = saved;
  per_process.run.distributed = "off";
  per_process.run.dist_timeout_s = 5;
  per_process.run.replica_check_every = 0;
  EXPECT_TRUE(sq::train::config_changes(saved, per_process).empty());
  RunConfig synced = saved;
  synced.run.sync_bn = true;
  const std::vector<sq::train::ConfigChange> changes = sq::train::config_changes(saved, synced);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].key, "run.sync_bn");
  // A checkpoint saved before the key existed reads as sync_bn false (no change for a run without it).
  const RunConfig old = RunConfig::from_json(R"({"run": {"seed": 1}})", "old checkpoint");
  EXPECT_TRUE(sq::train::config_changes(old, saved).empty());
}

}  // namespace
