// Checkpoint compatibility: a run refuses checkpoints from another format, architecture or parameter layout.
#include <gtest/gtest.h>

#include "sq/train/checkpoint.hpp"

namespace {

using sq::train::Checkpoint;
using sq::train::CheckpointExpectation;

Checkpoint vgg_checkpoint() {
  Checkpoint c;
  c.metadata["format"] = sq::train::kCheckpointFormatName;
  c.metadata["format_version"] = std::to_string(sq::train::kCheckpointFormatVersion);
  c.metadata["arch"] = "vgg9";
  c.metadata["classes"] = "10";
  c.metadata["quantizer"] = "twn";
  c.add("conv1.weight", sq::Tensor::zeros({4, 3, 3, 3}, sq::DType::f32));
  c.add("fc.weight", sq::Tensor::zeros({10, 8}, sq::DType::f32));
  c.add("bn.running_mean", sq::Tensor::zeros({4}, sq::DType::f32));
  return c;
}

CheckpointExpectation vgg_expectation() {
  CheckpointExpectation e;
  e.identity = {{"arch", "vgg9"}, {"classes", "10"}, {"quantizer", "twn"}};
  e.tensors = {{"conv1.weight", sq::DType::f32, {4, 3, 3, 3}},
               {"fc.weight", sq::DType::f32, {10, 8}},
               {"bn.running_mean", sq::DType::f32, {4}}};
  return e;
}

std::string refusal(const Checkpoint& c, const CheckpointExpectation& e) {
  try {
    sq::train::check_compatible(c, e, "run/ckpt.safetensors");
  } catch (const sq::Error& err) {
    return err.what();
  }
  return "";
}

TEST(CheckpointCompat, MatchingCheckpointIsAccepted) {
  EXPECT_NO_THROW(sq::train::check_compatible(vgg_checkpoint(), vgg_expectation(), "ckpt"));
}

TEST(CheckpointCompat, OtherArchitectureAndClassesAreNamed) {
  CheckpointExpectation e = vgg_expectation();
  e.identity["arch"] = "resnet56";
  e.identity["classes"] = "100";
  const std::string why = refusal(vgg_checkpoint(), e);
  ASSERT_FALSE(why.empty());
  EXPECT_NE(why.find("run/ckpt.safetensors"), std::string::npos) << why;
  EXPECT_NE(why.find("arch: checkpoint has vgg9, this run has resnet56"), std::string::npos) << why;
  EXPECT_NE(why.find("classes: checkpoint has 10, this run has 100"), std::string::npos) << why;
}

TEST(CheckpointCompat, QuantizerMismatchAndMissingIdentityAreRefused) {
  CheckpointExpectation e = vgg_expectation();
  e.identity["quantizer"] = "bwn";
  EXPECT_NE(refusal(vgg_checkpoint(), e).find("quantizer"), std::string::npos);
  e = vgg_expectation();
  e.identity["granularity"] = "channel";
  EXPECT_NE(refusal(vgg_checkpoint(), e).find("granularity: checkpoint has (missing)"), std::string::npos);
}

TEST(CheckpointCompat, TensorNameShapeAndDtypeDifferencesAreListed) {
  CheckpointExpectation e = vgg_expectation();
  e.tensors[1].shape = {100, 8};
  e.tensors.push_back({"fc2.weight", sq::DType::f32, {3}});
  e.tensors.erase(e.tensors.begin() + 2);  // bn.running_mean becomes an extra tensor
  const std::string why = refusal(vgg_checkpoint(), e);
  EXPECT_NE(why.find("fc.weight: checkpoint float32 [10, 8], model float32 [100, 8]"), std::string::npos) << why;
  EXPECT_NE(why.find("missing:\n    fc2.weight"), std::string::npos) << why;
  EXPECT_NE(why.find("not in the model:\n    bn.running_mean"), std::string::npos) << why;
  e.allow_extra_tensors = true;
  EXPECT_EQ(refusal(vgg_checkpoint(), e).find("bn.running_mean"), std::string::npos);

  e = vgg_expectation();
  e.tensors[0].dtype = sq::DType::i32;
  EXPECT_NE(refusal(vgg_checkpoint(), e).find("conv1.weight: checkpoint float32"), std::string::npos);
}

TEST(CheckpointCompat, ForeignFormatAndOtherVersionsAreRefused) {
  Checkpoint c = vgg_checkpoint();
  c.metadata.erase("format");
  EXPECT_NE(refusal(c, vgg_expectation()).find("not an SQ-CUDA checkpoint"), std::string::npos);
  c = vgg_checkpoint();
  c.metadata["format_version"] = "999";
  EXPECT_NE(refusal(c, vgg_expectation()).find("format version 999"), std::string::npos);
}

}  // namespace
