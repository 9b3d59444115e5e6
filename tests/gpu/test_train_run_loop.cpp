// The whole run loop (run_training) on the GPU: an evaluation batch other than the training batch, evaluation of
// the quantized and the hybrid network with BN recalibration, checkpoint and resume; in deterministic fp32 the run
// with CUDA-graph steps equals the eager one, and the resumed one the uninterrupted one, bit for bit.
// The data is a synthetic Fashion-MNIST-shaped folder (raw IDX; random images first, zeros after the limits), so no
// data package is needed. Skips without a GPU.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sq/train/checkpoint.hpp"
#include "sq/train/run_config.hpp"
#include "sq/train/runner.hpp"
#include "support/gpu.hpp"
#include "support/random_dataset.hpp"

namespace {

namespace fs = std::filesystem;

void put_u32(std::ofstream& out, std::uint32_t v) {
  const unsigned char b[4] = {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
                              static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  out.write(reinterpret_cast<const char*>(b), 4);
}

// Fashion-MNIST's published counts with `random` random images (random_dataset) first.
void write_idx_pair(const std::string& dir, const std::string& prefix, std::uint32_t count, std::int64_t random,
                    std::uint32_t seed) {
  const sq::data::Dataset data = sq::test::random_dataset(random, 1, 28, 28, 10, seed);
  std::ofstream images(dir + "/" + prefix + "-images-idx3-ubyte", std::ios::binary);
  put_u32(images, 0x803);
  put_u32(images, count);
  put_u32(images, 28);
  put_u32(images, 28);
  images.write(reinterpret_cast<const char*>(data.images.data<std::uint8_t>()), data.images.bytes());
  const std::vector<char> zeros(static_cast<std::size_t>(count - random) * 28 * 28, 0);
  images.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  std::ofstream labels(dir + "/" + prefix + "-labels-idx1-ubyte", std::ios::binary);
  put_u32(labels, 0x801);
  put_u32(labels, count);
  for (std::uint32_t i = 0; i < count; ++i) labels.put(static_cast<char>(i % 10));
}

std::string synthetic_fashion_mnist() {
  const std::string dir = (fs::temp_directory_path() / "sq_gpu_run_loop_data").string();
  fs::create_directories(dir);
  write_idx_pair(dir, "train", 60000, 640, 1);
  write_idx_pair(dir, "t10k", 10000, 300, 2);
  return dir;
}

sq::train::RunConfig tiny_config(const std::string& data, const std::string& output, bool graph) {
  sq::train::RunConfig c;
  c.name = "gpu-run-loop";
  c.model.arch = "small_cnn";
  c.data.dataset = "fashion-mnist";
  c.data.dir = data;
  c.data.train_limit = 640;
  c.data.test_limit = 300;
  c.data.eval_batch = 100;  // training batch 64: evaluation runs on the model's evaluation network
  c.quant.quantizer = "twn";
  c.quant.stages = {0.5, 1.0};
  c.optim.batch = 64;
  c.optim.iterations = 20;  // 10 steps an epoch: two evaluations a stage
  c.optim.lr = 0.05;
  c.optim.schedule = "constant";
  c.run.device = "cuda";
  c.run.output = output;
  c.run.log_every = 5;
  c.run.checkpoint_every = 0;
  c.run.eval_every_epochs = 1;
  c.run.bn_recalibrate_batches = 2;
  c.run.math = "fp32";
  c.run.deterministic = true;
  c.run.cuda_graph = graph;
  return c;
}

sq::train::RunOutcome run(const sq::train::RunConfig& c, const std::string& resume = "") {
  std::ostringstream out;
  const sq::train::RunOutcome outcome = sq::train::run_training(c, resume, out, false);
  const auto want = c.run.max_steps > 0 ? sq::train::RunStatus::step_limit : sq::train::RunStatus::finished;
  EXPECT_EQ(static_cast<int>(outcome.status), static_cast<int>(want)) << outcome.message << "\n" << out.str();
  return outcome;
}

void expect_same_tensors(const std::string& a_path, const std::string& b_path) {
  const sq::train::Checkpoint a = sq::train::read_checkpoint(a_path), b = sq::train::read_checkpoint(b_path);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const sq::train::NamedTensor& t : a.tensors) {
    const sq::Tensor* other = b.find(t.name);
    ASSERT_NE(other, nullptr) << t.name;
    ASSERT_EQ(t.tensor.bytes(), other->bytes()) << t.name;
    EXPECT_EQ(std::memcmp(t.tensor.raw(), other->raw(), t.tensor.bytes()), 0)
        << t.name << " differs between " << a_path << " and " << b_path;
  }
}

TEST(TrainGpuRunLoop, GraphEqualsEagerAndResumeEqualsStraightBitForBit) {
  SQ_REQUIRE_GPU();
  const std::string data = synthetic_fashion_mnist();
  const std::string root = (fs::temp_directory_path() / "sq_gpu_run_loop").string();
  fs::remove_all(root);

  const sq::train::RunOutcome graph = run(tiny_config(data, root + "/graph", true));
  const sq::train::RunOutcome eager = run(tiny_config(data, root + "/eager", false));
  ASSERT_EQ(graph.global_step, 40);
  ASSERT_EQ(eager.global_step, 40);
  ASSERT_EQ(graph.stages.size(), 2u);
  EXPECT_EQ(graph.final_test_error, eager.final_test_error);
  EXPECT_GE(graph.final_test_error, 0.0);
  EXPECT_LE(graph.final_test_error, 100.0);
  expect_same_tensors(root + "/graph/last.safetensors", root + "/eager/last.safetensors");
  expect_same_tensors(root + "/graph/stage1.safetensors", root + "/eager/stage1.safetensors");

  // Interrupted mid stage 1, resumed to the end.
  sq::train::RunConfig first = tiny_config(data, root + "/pieces", true);
  first.run.max_steps = 13;
  const sq::train::RunOutcome part = run(first);
  EXPECT_EQ(part.global_step, 13);
  sq::train::RunConfig rest = tiny_config(data, root + "/pieces", true);
  const sq::train::RunOutcome resumed = run(rest, root + "/pieces/last.safetensors");
  EXPECT_EQ(resumed.global_step, 40);
  EXPECT_EQ(resumed.final_test_error, graph.final_test_error);
  expect_same_tensors(root + "/graph/last.safetensors", root + "/pieces/last.safetensors");

  // Every epoch line has both evaluations (quantized and, with r < 1, hybrid).
  std::ifstream metrics(root + "/graph/metrics.jsonl");
  std::string line;
  int epochs = 0, hybrid = 0;
  while (std::getline(metrics, line)) {
    if (line.find("\"kind\":\"epoch\"") == std::string::npos) continue;
    ++epochs;
    EXPECT_EQ(line.find("\"test_error_quantized\":null"), std::string::npos) << line;
    if (line.find("\"test_error_hybrid\":null") == std::string::npos) ++hybrid;
  }
  EXPECT_EQ(epochs, 4);
  EXPECT_GE(hybrid, 2) << "stage 1 (r = 0.5) evaluates the hybrid too";
  fs::remove_all(root);
  fs::remove_all(data);
}

}  // namespace
