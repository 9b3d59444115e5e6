// Config and command-line hardening (issue 9): deep JSON, short error excerpts, integers that do not fit their
// field, duplicate keys, BOM and comments, stage lists, resume config changes, --version.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "sq/core/error.hpp"
#include "sq/train/run_config.hpp"
#include "sq/version.hpp"
#include "support/command_line.hpp"

namespace {

using sq::train::CommandLine;
using sq::train::RunConfig;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sq::Error& e) {
    return e.what();
  }
  return "";
}

std::string nested(int levels, const std::string& inner = "") {
  return std::string(static_cast<std::size_t>(levels), '[') + inner +
         std::string(static_cast<std::size_t>(levels), ']');
}

using sq_test::parse;

TEST(ConfigJson, DeepNestingIsRefusedAtParseWithoutCrashing) {
  // 100000 levels used to crash (the type error serialised the value recursively); 50000 printed 100 KB.
  for (const int levels : {100000, 50000, 40}) {
    SCOPED_TRACE(levels);
    const std::string why =
        error_of([&] { RunConfig::from_json(R"({"optim": {"lr": )" + nested(levels) + "}}", "deep.json"); });
    EXPECT_NE(why.find("deep.json: JSON nests deeper than"), std::string::npos) << why.substr(0, 300);
    EXPECT_LT(why.size(), 400u);
  }
  // Shallow nesting still reaches the type check, which quotes a short excerpt.
  const std::string why =
      error_of([&] { RunConfig::from_json(R"({"optim": {"lr": )" + nested(20, "1") + "}}", "deep.json"); });
  EXPECT_NE(why.find("'optim.lr' must be a number"), std::string::npos) << why;
  EXPECT_LT(why.size(), 400u) << why;
}

TEST(ConfigJson, ErrorMessagesQuoteOnlyAnExcerptOfAValue) {
  const std::string big(100000, 'x');
  const std::vector<std::string> documents = {
      R"({"optim": {"lr": ")" + big + R"("}})",
      R"({"optim": {"batch": [)" + std::string(20000, '1') + "]}}",
      R"({"quant": {"stages": [0.5, ")" + big + R"("]}})",
      R"({"model": ")" + big + R"("})",
      R"({"run": {")" + big + R"(": 1}})",
      R"({"run": {"device": ")" + big + R"("}})",
  };
  for (const std::string& doc : documents) {
    const std::string why = error_of([&] { RunConfig::from_json(doc, "big.json").validate("big.json"); });
    EXPECT_NE(why.find("big.json"), std::string::npos) << why.substr(0, 300);
    EXPECT_LT(why.size(), 1500u) << why.substr(0, 300);
  }
}

TEST(ConfigJson, IntegersThatDoNotFitTheirFieldAreRefusedNamingKeyAndRange) {
  struct Case {
    const char* doc;
    const char* needle;
  };
  const std::vector<Case> cases = {
      {R"({"optim": {"batch": 4294967360}})", "'optim.batch' must be an integer in [1, 65536], not 4294967360"},
      {R"({"data": {"eval_batch": 4294967496}})", "'data.eval_batch' must be an integer in [1, 65536]"},
      {R"({"quant": {"bits": 4294967298}})", "'quant.bits' must be an integer in [2, 8]"},
      {R"({"optim": {"iterations": 18446744073709551615}})", "'optim.iterations' must be an integer in [1, 2^40]"},
      {R"({"run": {"seed": -1}})", "'run.seed' must be an integer in [0, 18446744073709551615]"},
      {R"({"run": {"log_every": -9223372036854775808}})", "run.log_every must be an integer in [1, 2^40]"},
      {R"({"optim": {"milestones": [10, 18446744073709551615]}})", "'optim.milestones' must be an integer in"},
      {R"({"optim": {"batch": 100000}})", "optim.batch must be an integer in [1, 65536], got 100000"},
      {R"({"optim": {"iterations": 0}})", "optim.iterations must be an integer in [1, 2^40], got 0"},
      {R"({"data": {"train_limit": -5}})", "data.train_limit must be an integer in [0, 2^40], got -5"},
      {R"({"optim": {"lr": 1e300}})", "optim.lr must be a number in (0, 1000]"},
      {R"({"optim": {"weight_decay": 5}})", "optim.weight_decay must be a number in [0, 1)"},
      {R"({"optim": {"gamma": 0}})", "optim.gamma must be a number in (0, 1]"},
      {R"({"run": {"bn_recalibrate_batches": 99999999999}})", "run.bn_recalibrate_batches must be an integer in"},
  };
  for (const Case& c : cases) {
    const std::string why = error_of([&] { RunConfig::from_json(c.doc, "fit.json").validate("fit.json"); });
    EXPECT_NE(why.find("fit.json"), std::string::npos) << c.doc << ": " << why;
    EXPECT_NE(why.find(c.needle), std::string::npos) << c.doc << ": " << why;
  }
  // Every 64-bit value is a seed.
  EXPECT_EQ(RunConfig::from_json(R"({"run": {"seed": 18446744073709551615}})", "s.json").run.seed,
            18446744073709551615ull);
}

TEST(ConfigJson, DuplicateKeysAreRefusedNamingTheKey) {
  std::string why = error_of([] { RunConfig::from_json(R"({"optim": {"batch": 10, "batch": 64}})", "dup.json"); });
  EXPECT_NE(why.find("dup.json: key 'batch' appears twice"), std::string::npos) << why;
  why = error_of([] { RunConfig::from_json(R"({"optim": {"lr": 0.1}, "optim": {"lr": 0.2}})", "dup.json"); });
  EXPECT_NE(why.find("key 'optim' appears twice"), std::string::npos) << why;
  // The same key in different objects is fine.
  EXPECT_NO_THROW(RunConfig::from_json(R"({"optim": {"batch": 10}, "data": {"eval_batch": 10}})", "ok.json"));
}

TEST(ConfigJson, ByteOrderMarkAndCommentsAreAcceptedAsDocumented) {
  const RunConfig c = RunConfig::from_json(
      "\xEF\xBB\xBF{ // the run\n  \"name\": \"bom\", /* block */ \"optim\": {\"batch\": 32}\n}\n", "bom.json");
  EXPECT_EQ(c.name, "bom");
  EXPECT_EQ(c.optim.batch, 32);
}

TEST(ConfigStages, SqStageListsMustRiseToOneUnlessAllowed) {
  for (const std::vector<double>& bad :
       {std::vector<double>{0.75, 0.5, 1.0}, std::vector<double>{0.5, 0.75}, std::vector<double>{1.0, 0.5}}) {
    RunConfig c;
    c.quant.stages = bad;
    const std::string why = error_of([&] { c.validate("stages.json"); });
    EXPECT_NE(why.find("quant.stages must be non-decreasing and end at 1"), std::string::npos) << why;
    EXPECT_NE(why.find("--allow-any-stages"), std::string::npos) << why;
    c.quant.allow_any_stages = true;
    EXPECT_NO_THROW(c.validate("stages.json"));
    // The choice travels with the run's configuration.
    EXPECT_TRUE(RunConfig::from_json(c.to_json(), "round trip").quant.allow_any_stages);
  }
  RunConfig ok;
  ok.quant.stages = {0.5, 0.5, 1.0};
  EXPECT_NO_THROW(ok.validate());

  CommandLine fixed;
  std::string err;
  EXPECT_GT(parse(fixed, {"--method", "twn", "--stages", "0.5,1"}, nullptr, &err), 0);
  EXPECT_NE(err.find("--method twn has the fixed stage list [1]"), std::string::npos) << err;
  CommandLine any;
  ASSERT_EQ(parse(any, {"--stages", "0.75,0.5,1", "--allow-any-stages"}), -1);
  RunConfig c;
  any.apply_overrides(c);
  EXPECT_NO_THROW(c.validate("command line"));
}

TEST(CommandLineNumbers, ValuesThatDoNotFitTheirTypeAreUsageErrors) {
  const std::vector<std::vector<const char*>> bad = {
      {"--seed", "-1"},
      {"--seed", "99999999999999999999"},
      {"--iterations", "99999999999999999999"},
      {"--batch", "4294967360"},
      {"--eval-seed", "-3"},
      {"--milestones", "10,99999999999999999999"},
      {"--bits", "3x"},
      {"--max-steps", "1e3"},
  };
  for (const auto& args : bad) {
    CommandLine cl;
    std::string err;
    EXPECT_GT(parse(cl, args, nullptr, &err), 0) << args[0] << " " << args[1];
    EXPECT_NE(err.find(args[0]), std::string::npos) << err;
  }
  // In-type but out of range: the configuration check names the key and range.
  CommandLine cl;
  ASSERT_EQ(parse(cl, {"--batch", "-4", "--seed", "18446744073709551615"}), -1);
  RunConfig c;
  cl.apply_overrides(c);
  EXPECT_EQ(c.run.seed, 18446744073709551615ull);
  EXPECT_NE(error_of([&] { c.validate("command line"); }).find("optim.batch must be an integer in [1, 65536], got -4"),
            std::string::npos);
}

TEST(ResumeConfigDiff, ListsEveryMeaningfulKeyAndIgnoresPerProcessOnes) {
  RunConfig saved;
  RunConfig same = saved;
  same.run.device = "cpu";
  same.run.max_steps = 3;
  same.run.math = "fp32";
  same.run.cuda_graph = false;
  same.run.allow_config_change = true;
  EXPECT_TRUE(sq::train::config_changes(saved, same).empty());

  RunConfig changed = saved;
  changed.optim.lr = 0.05;
  changed.optim.iterations = 7;
  changed.optim.schedule = "cosine";
  changed.data.train_limit = 1000;
  changed.optim.batch = 64;
  changed.run.output = "elsewhere";
  const std::vector<sq::train::ConfigChange> changes = sq::train::config_changes(saved, changed);
  std::vector<std::string> keys;
  for (const auto& c : changes) keys.push_back(c.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"data.train_limit", "optim.batch", "optim.iterations", "optim.lr",
                                            "optim.schedule", "run.output"}));
  EXPECT_EQ(changes[3].saved, "0.1");
  EXPECT_EQ(changes[3].requested, "0.05");

  // The saved form holds the defaults of per-process keys, never this process's values.
  const RunConfig back = RunConfig::from_json(same.to_json(-1, /*per_process=*/false), "saved");
  EXPECT_EQ(back.to_json(), RunConfig{}.to_json());
}

TEST(Version, TrainCifarPrintsTheGitDescribeOfItsSourceTree) {
  CommandLine cl;
  std::string out;
  EXPECT_EQ(parse(cl, {"--version"}, &out), 0);
  EXPECT_EQ(out, "train_cifar " + sq::version() + "\n");
  // The stamped version is `git describe` of the source tree the library was built from (or "unknown" when the
  // tree is not a git checkout); -dirty may differ when files were edited after the build.
  std::string describe = "unknown";
  if (FILE* pipe = ::popen("git -C '" SQ_SOURCE_DIR "' describe --always --tags 2>/dev/null", "r")) {
    char line[256] = {0};
    if (std::fgets(line, sizeof line, pipe)) {
      describe = line;
      describe.erase(describe.find_last_not_of("\n") + 1);
    }
    ::pclose(pipe);
  }
  std::string stamped = sq::version();
  const std::string dirty = "-dirty";
  if (stamped.size() > dirty.size() && stamped.compare(stamped.size() - dirty.size(), dirty.size(), dirty) == 0)
    stamped.resize(stamped.size() - dirty.size());
  EXPECT_EQ(stamped, describe);
}

}  // namespace
