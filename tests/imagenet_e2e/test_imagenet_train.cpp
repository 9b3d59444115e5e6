// run_training on the tiny ImageNet folder on the CPU (label e2e: ResNet-18's 11M weights make a CPU step about a
// second, several under ASan): ResNet-18 (32x32 inputs) and AlexNet-BN (64x64) train a few
// steps and evaluate (top-1 and top-5 error); a ResNet-18 run stopped mid-epoch and resumed ends with the same
// weights, bit for bit, as the uninterrupted run (the loader skips to the position without decoding).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "imagenet/tiny_imagenet.hpp"
#include "sq/train/checkpoint.hpp"
#include "sq/train/run_config.hpp"
#include "sq/train/runner.hpp"

namespace {

namespace fs = std::filesystem;
using sq_imagenet_test::tiny_imagenet;

sq::train::RunConfig config(const std::string& arch, int size, const std::string& output) {
  sq::train::RunConfig c;
  c.name = "tiny-imagenet";
  c.model.arch = arch;
  c.data.dataset = "imagenet";
  c.data.dir = tiny_imagenet();
  c.data.image_size = size;
  c.data.eval_batch = 4;
  c.data.loader_threads = 2;
  c.quant.quantizer = "twn";
  c.quant.stages = {1.0};
  c.optim.batch = 4;
  c.optim.iterations = 9;  // 7 steps an epoch: the second epoch is cut short by the stage end
  c.optim.lr = 0.01;
  c.optim.schedule = "constant";
  c.run.device = "cpu";
  c.run.threads = 2;
  c.run.output = output;
  c.run.log_every = 2;
  c.run.checkpoint_every = 0;
  c.run.bn_recalibrate_batches = 1;
  return c;
}

sq::train::RunOutcome run(const sq::train::RunConfig& c, const std::string& resume, std::string* log = nullptr) {
  std::ostringstream out;
  const sq::train::RunOutcome outcome = sq::train::run_training(c, resume, out, false);
  const auto want = c.run.max_steps > 0 ? sq::train::RunStatus::step_limit : sq::train::RunStatus::finished;
  EXPECT_EQ(static_cast<int>(outcome.status), static_cast<int>(want)) << outcome.message << "\n" << out.str();
  if (log) *log = out.str();
  return outcome;
}

void expect_same_tensors(const std::string& a_path, const std::string& b_path) {
  const sq::train::Checkpoint a = sq::train::read_checkpoint(a_path), b = sq::train::read_checkpoint(b_path);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const sq::train::NamedTensor& t : a.tensors) {
    const sq::Tensor* other = b.find(t.name);
    ASSERT_NE(other, nullptr) << t.name;
    ASSERT_EQ(t.tensor.bytes(), other->bytes()) << t.name;
    EXPECT_EQ(std::memcmp(t.tensor.raw(), other->raw(), t.tensor.bytes()), 0) << t.name;
  }
}

TEST(ImagenetTrain, ResNet18TrainsEvaluatesTop5AndResumesMidEpochBitForBit) {
  const std::string root = (fs::temp_directory_path() / ("sq_imagenet_train_" + std::to_string(::getpid()))).string();
  fs::remove_all(root);
  std::string log;
  const sq::train::RunOutcome straight = run(config("resnet18", 32, root + "/straight"), "", &log);
  EXPECT_EQ(straight.global_step, 9);
  EXPECT_NE(log.find("stage1.block0"), std::string::npos) << "the model summary lists ResNet-18's blocks\n" << log;
  EXPECT_NE(log.find("top-5"), std::string::npos) << log;
  EXPECT_GE(straight.final_test_error, 0.0);
  // metrics: every epoch record with a test error carries a top-5 error <= the top-1 error.
  std::ifstream metrics(root + "/straight/metrics.jsonl");
  std::string line;
  int top5 = 0;
  while (std::getline(metrics, line)) {
    if (line.find("\"kind\":\"epoch\"") != std::string::npos &&
        line.find("\"test_error_top5\":null") == std::string::npos)
      ++top5;
  }
  EXPECT_GE(top5, 2);

  sq::train::RunConfig first = config("resnet18", 32, root + "/pieces");
  first.run.max_steps = 3;  // inside epoch 0
  EXPECT_EQ(run(first, "").global_step, 3);
  const sq::train::RunOutcome resumed =
      run(config("resnet18", 32, root + "/pieces"), root + "/pieces/last.safetensors");
  EXPECT_EQ(resumed.global_step, 9);
  EXPECT_EQ(resumed.final_test_error, straight.final_test_error);
  expect_same_tensors(root + "/straight/last.safetensors", root + "/pieces/last.safetensors");
  fs::remove_all(root);
}

TEST(ImagenetTrain, AlexNetBnTrainsAtReducedSize) {
  const std::string root = (fs::temp_directory_path() / ("sq_imagenet_alexnet_" + std::to_string(::getpid()))).string();
  fs::remove_all(root);
  sq::train::RunConfig c = config("alexnet_bn", 64, root);
  c.optim.iterations = 3;
  std::string log;
  const sq::train::RunOutcome outcome = run(c, "", &log);
  EXPECT_EQ(outcome.global_step, 3);
  EXPECT_NE(log.find("fc7"), std::string::npos) << log;
  EXPECT_GE(outcome.final_test_error, 0.0);
  EXPECT_LE(outcome.final_test_error, 100.0);
  fs::remove_all(root);
}

}  // namespace
