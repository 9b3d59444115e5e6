// A checkpoint written by SQ-CUDA loads in Python with a plain safetensors reader (tests/e2e/read_safetensors.py).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sq/train/checkpoint.hpp"

namespace {

std::string run_and_capture(const std::string& command, int& status) {
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) {
    status = -1;
    return "";
  }
  std::string out;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  status = ::pclose(pipe);
  return out;
}

TEST(CheckpointPython, PlainPythonReaderSeesTheSameTensorsAndMetadata) {
  const std::string path = ::testing::TempDir() + "sq_python_reader_" + std::to_string(::getpid()) + ".safetensors";
  sq::train::Checkpoint c;
  const std::vector<float> weights = {0.5f, -0.25f, 0.125f, -1.0f, 1.5f, 2.0f};
  c.add("features.0.weight", sq::Tensor::from_vector<float>(weights, {2, 3}));
  c.add("step_counts", sq::Tensor::from_vector<std::int32_t>({-3, 0, 70000}, {3}));
  c.add("mask", sq::Tensor::from_vector<std::uint8_t>({1, 0, 1, 255}, {4}));
  c.metadata["format"] = sq::train::kCheckpointFormatName;
  c.metadata["config"] = R"({"arch": "vgg9"})";
  c.metadata["sq_ratio"] = "0.75";
  sq::train::write_checkpoint(path, c);

  int status = 0;
  const std::string out =
      run_and_capture("python3 " SQ_SOURCE_DIR "/tests/e2e/read_safetensors.py '" + path + "'", status);
  ASSERT_EQ(status, 0) << "python3 reader failed: " << out;
  const nlohmann::json got = nlohmann::json::parse(out);
  EXPECT_EQ(got["metadata"]["format"], sq::train::kCheckpointFormatName);
  EXPECT_EQ(got["metadata"]["config"], R"({"arch": "vgg9"})");
  EXPECT_EQ(got["metadata"]["sq_ratio"], "0.75");
  ASSERT_EQ(got["tensors"].size(), 3u);
  const auto& w = got["tensors"]["features.0.weight"];
  EXPECT_EQ(w["dtype"], "F32");
  EXPECT_EQ(w["shape"], (std::vector<int>{2, 3}));
  EXPECT_EQ(w["values"].get<std::vector<float>>(), weights);
  EXPECT_EQ(got["tensors"]["step_counts"]["dtype"], "I32");
  EXPECT_EQ(got["tensors"]["step_counts"]["values"].get<std::vector<int>>(), (std::vector<int>{-3, 0, 70000}));
  EXPECT_EQ(got["tensors"]["mask"]["values"].get<std::vector<int>>(), (std::vector<int>{1, 0, 1, 255}));
  std::remove(path.c_str());
}

}  // namespace
