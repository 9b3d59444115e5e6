// A failed CUDA graph capture is not fatal: the trainer logs it once, with the error, and runs eager steps for the
// rest of the run. The failure is injected through TrainerOptions::capture_hook_for_testing, which on the CPU
// stands in for the capture (on the GPU it runs inside it: tests/gpu/test_train_graph_fallback.cpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sq/core/error.hpp"
#include "sq/core/philox.hpp"
#include "sq/nn/models.hpp"
#include "sq/train/trainer.hpp"

namespace {

struct TrainOutcome {
  std::vector<float> values, losses;
  int hook_calls = 0;
  std::vector<std::string> logs;
  std::string failure;
  bool graph_active = true;
};

TrainOutcome train(bool inject) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  sq::nn::ModelSpec spec;
  spec.arch = "small_cnn";
  spec.image_size = 16;
  sq::quant::SqOptions sq;
  sq.quantizer = sq::quant::Quantizer::twn;
  sq.ratio = 0.5;
  const auto model = sq::nn::build_model(spec, sq, ctx, 3);
  TrainOutcome run;
  sq::train::TrainerOptions options;
  options.log = [&](const std::string& line) { run.logs.push_back(line); };
  if (inject) {
    options.capture_hook_for_testing = [&] {
      ++run.hook_calls;
      SQ_FAIL("injected: operation not permitted when stream is capturing");
    };
  }
  sq::train::Trainer trainer(*model, ctx, options);
  std::vector<float> x(4 * 3 * 16 * 16);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = sq::philox_uniform_at(8, 0, i);
  const sq::Tensor images = sq::Tensor::from_vector(x, {4, 3, 16, 16});
  const sq::Tensor labels = sq::Tensor::from_vector(std::vector<std::int32_t>{1, 2, 3, 4}, {4});
  for (int i = 0; i < 6; ++i) {
    trainer.train_step(images, labels, 0.05f);
    run.losses.push_back(trainer.read_loss());
  }
  EXPECT_EQ(trainer.step(), 6u);
  run.values = model->arena().values().to_vector<float>();
  run.failure = trainer.graph_failure();
  run.graph_active = trainer.graph_active();
  return run;
}

TEST(TrainerCaptureFallback, FailedCaptureIsLoggedOnceAndStepsRunEagerly) {
  const TrainOutcome eager = train(false);
  const TrainOutcome failed = train(true);
  EXPECT_EQ(failed.hook_calls, 1) << "a failed capture is not retried";
  ASSERT_EQ(failed.logs.size(), 1u);
  EXPECT_NE(failed.logs[0].find("injected: operation not permitted"), std::string::npos) << failed.logs[0];
  EXPECT_NE(failed.logs[0].find("eager"), std::string::npos) << failed.logs[0];
  EXPECT_NE(failed.failure.find("injected"), std::string::npos);
  EXPECT_FALSE(failed.graph_active);
  EXPECT_TRUE(eager.logs.empty());
  EXPECT_TRUE(eager.failure.empty());
  // Every step ran, including the one whose capture failed: the same weights and losses as plain eager steps.
  EXPECT_EQ(failed.values, eager.values);
  EXPECT_EQ(failed.losses, eager.losses);
}

}  // namespace
