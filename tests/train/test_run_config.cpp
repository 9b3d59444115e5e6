// RunConfig: every shipped config loads and validates; JSON round trip; strict errors; command-line overrides.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sq/core/error.hpp"
#include "sq/train/run_config.hpp"
#include "support/command_line.hpp"

namespace {

using sq::train::CommandLine;
using sq::train::RunConfig;

std::vector<std::string> config_files() {
  std::vector<std::string> files;
  const std::string dir = SQ_SOURCE_DIR "/configs";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return files;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".json") files.push_back(name);
  }
  ::closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sq::Error& e) {
    return e.what();
  }
  return "";
}

TEST(RunConfig, EveryShippedConfigLoadsAndValidates) {
  const std::vector<std::string> files = config_files();
  // {vgg9, resnet56} x {fwn, bwn, twn, sq-bwn, sq-twn} x {cifar10, cifar100, fashion-mnist} + quick configs.
  ASSERT_GE(files.size(), 35u);
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    RunConfig c;
    ASSERT_NO_THROW(c = sq::train::load_run_config(SQ_SOURCE_DIR "/configs/" + file));
    EXPECT_EQ(c.name + ".json", file) << "a config's name is its file name (and its default output folder)";
    // <arch>-<method>-<dataset>.json, or imagenet-<arch>-<method>.json
    const bool named = file.find("-" + c.method() + "-") != std::string::npos ||
                       (c.data.dataset == "imagenet" && file.find("-" + c.method() + ".json") != std::string::npos);
    EXPECT_TRUE(named) << "method " << c.method();
    EXPECT_NE(file.find(c.data.dataset), std::string::npos);
  }
}

TEST(RunConfig, PaperConfigsCarryTheAuthorsHyperParameters) {
  const RunConfig vgg = sq::train::load_run_config(SQ_SOURCE_DIR "/configs/vgg9-sq-twn-cifar10.json");
  EXPECT_EQ(vgg.model.arch, "vgg9");
  EXPECT_EQ(vgg.optim.batch, 100);
  EXPECT_EQ(vgg.optim.iterations, 100000);
  EXPECT_EQ(vgg.optim.schedule, "step");
  EXPECT_EQ(vgg.optim.step_size, 15000);
  EXPECT_DOUBLE_EQ(vgg.optim.lr, 0.1);
  EXPECT_DOUBLE_EQ(vgg.optim.momentum, 0.9);
  EXPECT_DOUBLE_EQ(vgg.optim.weight_decay, 1e-4);
  EXPECT_EQ(vgg.quant.stages, (std::vector<double>{0.5, 0.75, 0.875, 1.0}));
  EXPECT_EQ(vgg.quant.quantizer, "twn");
  EXPECT_TRUE(vgg.model.quantize_first && vgg.model.quantize_last);
  EXPECT_EQ(vgg.classes(), 10);
  EXPECT_EQ(vgg.in_channels(), 3);

  const RunConfig res = sq::train::load_run_config(SQ_SOURCE_DIR "/configs/resnet56-bwn-cifar100.json");
  EXPECT_EQ(res.optim.batch, 128);
  EXPECT_EQ(res.optim.iterations, 64000);
  EXPECT_EQ(res.optim.schedule, "multistep");
  EXPECT_EQ(res.optim.milestones, (std::vector<std::int64_t>{32000, 48000}));
  EXPECT_EQ(res.quant.stages, (std::vector<double>{1.0}));
  EXPECT_EQ(res.method(), "bwn");
  EXPECT_EQ(res.classes(), 100);

  const RunConfig fwn = sq::train::load_run_config(SQ_SOURCE_DIR "/configs/vgg9-fwn-fashion-mnist.json");
  EXPECT_EQ(fwn.quant.quantizer, "none");
  EXPECT_EQ(fwn.in_channels(), 1);
}

TEST(RunConfig, JsonRoundTripKeepsEveryField) {
  RunConfig c;
  c.name = "x";
  c.model.arch = "resnet20";
  c.model.quantize_last = false;
  c.data.dataset = "cifar100";
  c.data.train_limit = 500;
  c.quant.quantizer = "kbit";
  c.quant.bits = 4;
  c.quant.sampler = "roulette";
  c.quant.stages = {0.25, 0.5, 1.0};
  c.optim.schedule = "multistep";
  c.optim.milestones = {10, 20};
  c.run.seed = 18446744073709551615ull;
  c.run.cuda_graph = false;
  const RunConfig back = RunConfig::from_json(c.to_json(), "round trip");
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_EQ(back.run.seed, 18446744073709551615ull);
  EXPECT_EQ(back.method(), "sq-kbit");
}

TEST(RunConfig, UnknownKeysAndWrongTypesNameTheFileAndKey) {
  std::string why = error_of([] { RunConfig::from_json(R"({"optim": {"lr_step": 5}})", "my.json"); });
  EXPECT_NE(why.find("my.json: unknown key 'lr_step' in 'optim'"), std::string::npos) << why;
  why = error_of([] { RunConfig::from_json(R"({"optim": {"lr": "fast"}})", "my.json"); });
  EXPECT_NE(why.find("'optim.lr' must be a number"), std::string::npos) << why;
  why = error_of([] { RunConfig::from_json(R"({"quant": {"stages": [0.5, "x"]}})", "my.json"); });
  EXPECT_NE(why.find("'quant.stages' must hold numbers"), std::string::npos) << why;
  why = error_of([] { RunConfig::from_json(R"({"modle": {}})", "my.json"); });
  EXPECT_NE(why.find("unknown key 'modle'"), std::string::npos) << why;
  why = error_of([] { RunConfig::from_json("{\"name\": ", "my.json"); });
  EXPECT_NE(why.find("my.json: not valid JSON"), std::string::npos) << why;
  why = error_of([] { RunConfig::from_json(R"({"quant": {"method": "sq-twn", "stages": [1.0]}})", "my.json"); });
  EXPECT_NE(why.find("quant.method says sq-twn but quantizer/stages make it twn"), std::string::npos) << why;
  why = error_of([] { RunConfig::from_json(R"({"quant": {"method": "xnor"}})", "my.json"); });
  EXPECT_NE(why.find("unknown method 'xnor'"), std::string::npos) << why;
  why = error_of([] { sq::train::load_run_config("/no/such/config.json"); });
  EXPECT_NE(why.find("/no/such/config.json"), std::string::npos) << why;
}

TEST(RunConfig, ValidationListsEveryProblem) {
  RunConfig c;
  c.model.arch = "vgg16";
  c.quant.sampler = "gumbel";
  c.quant.stages = {0.5, 1.5};
  c.optim.batch = 0;
  c.optim.momentum = 1.0;
  c.run.device = "tpu";
  c.optim.schedule = "step";
  c.optim.step_size = 0;
  const std::string why = error_of([&] { c.validate("bad.json"); });
  EXPECT_EQ(why.rfind("bad.json: invalid configuration:", 0), 0u) << why;
  for (const char* needle :
       {"model.arch 'vgg16' is not one of", "quant.sampler 'gumbel'", "(0, 1], got 1.5",
        "optim.batch must be an integer in [1, 65536], got 0", "optim.momentum", "run.device", "optim: "}) {
    EXPECT_NE(why.find(needle), std::string::npos) << needle << " missing from: " << why;
  }
  RunConfig fwn;
  fwn.apply_method("fwn");
  EXPECT_NO_THROW(fwn.validate());
  fwn.quant.stages = {0.5, 1.0};
  EXPECT_NE(error_of([&] { fwn.validate(); }).find("must be [1.0] when quant.quantizer is none"), std::string::npos);
}

TEST(RunConfig, MethodsSetQuantizerAndStages) {
  RunConfig c;
  c.apply_method("sq-bwn");
  EXPECT_EQ(c.quant.quantizer, "bwn");
  EXPECT_EQ(c.quant.stages, (std::vector<double>{0.5, 0.75, 0.875, 1.0}));
  c.apply_method("twn");
  EXPECT_EQ(c.quant.stages, (std::vector<double>{1.0}));
  EXPECT_EQ(c.method(), "twn");
  c.apply_method("fwn");
  EXPECT_EQ(c.method(), "fwn");
  EXPECT_THROW(c.apply_method("sq-none"), sq::Error);
}

using sq_test::parse;

TEST(CommandLine, OverridesApplyOnTopOfTheBaseConfiguration) {
  CommandLine cl;
  ASSERT_EQ(parse(cl, {"--lr", "0.05", "--stages", "0.25,0.5,1", "--method", "sq-bwn", "--device", "cpu",
                       "--quantize-first", "false", "--milestones", "100,200", "--seed", "42"}),
            -1);
  RunConfig c = sq::train::load_run_config(SQ_SOURCE_DIR "/configs/vgg9-sq-twn-cifar10.json");
  cl.apply_overrides(c);
  EXPECT_DOUBLE_EQ(c.optim.lr, 0.05);
  EXPECT_EQ(c.quant.quantizer, "bwn") << "--method applies";
  EXPECT_EQ(c.quant.stages, (std::vector<double>{0.25, 0.5, 1.0})) << "explicit --stages refines --method";
  EXPECT_EQ(c.run.device, "cpu");
  EXPECT_FALSE(c.model.quantize_first);
  EXPECT_EQ(c.optim.milestones, (std::vector<std::int64_t>{100, 200}));
  EXPECT_EQ(c.run.seed, 42u);
  EXPECT_EQ(c.optim.batch, 100) << "options not given keep the config file's values";
  EXPECT_EQ(c.optim.step_size, 15000);
}

TEST(CommandLine, HelpExplainsEveryOptionAndHidesDebugOnes) {
  CommandLine cl;
  std::string out;
  EXPECT_EQ(parse(cl, {"--help"}, &out), 0);
  for (const char* option : {"--config",    "--resume",         "--arch",       "--dataset",          "--method",
                             "--quantizer", "--probability",    "--sampler",    "--granularity",      "--stages",
                             "--batch",     "--iterations",     "--lr",         "--schedule",         "--milestones",
                             "--seed",      "--device",         "--output",     "--checkpoint-every", "--max-steps",
                             "--eval-seed", "--quantize-first", "--train-limit"}) {
    EXPECT_NE(out.find(option), std::string::npos) << option << " missing from --help";
  }
  EXPECT_EQ(out.find("debug-inject-nan"), std::string::npos);
  EXPECT_NE(out.find("Examples:"), std::string::npos);
  CommandLine hidden;
  ASSERT_EQ(parse(hidden, {"--debug-inject-nan-at-step", "7"}), -1);
  RunConfig c;
  hidden.apply_overrides(c);
  EXPECT_EQ(c.run.debug_nan_at_step, 7);
}

TEST(CommandLine, UsageErrorsExitNonZeroWithAMessage) {
  CommandLine cl;
  std::string out, err;
  EXPECT_GT(parse(cl, {"--lr", "abc"}, &out, &err), 0);
  EXPECT_NE(err.find("--lr"), std::string::npos) << err;
  CommandLine unknown;
  EXPECT_GT(parse(unknown, {"--learning-rate", "0.1"}, &out, &err), 0);
  EXPECT_NE(err.find("learning-rate"), std::string::npos) << err;
  CommandLine missing;
  EXPECT_GT(parse(missing, {"--config", "/no/such/file.json"}, &out, &err), 0);
  EXPECT_NE(err.find("/no/such/file.json"), std::string::npos) << err;
}

}  // namespace
