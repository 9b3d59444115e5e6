// Gradient buckets during backward (the GPU overlap of the all-reduce, docs/DISTRIBUTED.md "Overlap"): the pure
// schedule (which bucket is complete after which layer) and, through the trainer's real backward on small_cnn and
// ResNet-20, that every bucket a layer releases already holds its final gradients and each is released once.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "dist/backward_buckets.hpp"
#include "dist/synthetic_data.hpp"
#include "sq/core/error.hpp"
#include "sq/data/augment.hpp"
#include "sq/data/batch_loader.hpp"
#include "sq/dist/gradient_sync.hpp"
#include "sq/dist/sharding.hpp"
#include "sq/nn/models.hpp"
#include "sq/nn/module.hpp"
#include "sq/train/trainer.hpp"

namespace {

using sq::dist::Bucket;
using sq::dist::BucketSchedule;
using Layers = std::vector<std::vector<Bucket>>;

TEST(DistBucketSchedule, ABucketIsReadyAfterTheLastLayerThatWritesIt) {
  const std::vector<Bucket> buckets = sq::dist::make_buckets(10, 4);  // [6,10) [2,6) [0,2)
  // Backward order: layer 0 writes [7,10), layer 1 [4,7), layer 2 [0,4).
  const Layers layers = {{{7, 10}}, {{4, 7}}, {{0, 4}}};
  BucketSchedule s = sq::dist::schedule_buckets(buckets, layers, {});
  ASSERT_EQ(s.after_layer.size(), 3u);
  EXPECT_TRUE(s.after_layer[0].empty()) << "[6,10) also holds element 6, written by layer 1";
  EXPECT_EQ(s.after_layer[1], (std::vector<int>{0}));
  EXPECT_EQ(s.after_layer[2], (std::vector<int>{1, 2}));
  EXPECT_TRUE(s.at_end.empty());

  // A range no reporting layer writes holds its bucket back to the end of backward.
  s = sq::dist::schedule_buckets(buckets, layers, {{5, 6}});
  EXPECT_EQ(s.after_layer[2], (std::vector<int>{2}));
  EXPECT_EQ(s.at_end, (std::vector<int>{1}));

  // Layers out of arena order, a layer with two ranges, and a gap no parameter holds (final from the start).
  const std::vector<Bucket> b3 = sq::dist::make_buckets(12, 4);  // [8,12) [4,8) [0,4)
  s = sq::dist::schedule_buckets(b3, {{{0, 2}, {10, 12}}, {{4, 6}}}, {});
  EXPECT_EQ(s.after_layer[0], (std::vector<int>{0, 2})) << "[8,12): only layer 0 writes it (8..9 is a gap)";
  EXPECT_EQ(s.after_layer[1], (std::vector<int>{1}));

  // No reporting layer at all: everything after backward.
  s = sq::dist::schedule_buckets(buckets, {}, {});
  EXPECT_EQ(s.at_end, (std::vector<int>{0, 1, 2}));
}

// A GradientSync that all-reduces nothing: it releases buckets as BackwardBuckets says and checks, after
// backward, that each was released exactly once and that its contents then were already the final gradients.
class ReleaseProbe final : public sq::dist::GradientSync {
 public:
  explicit ReleaseProbe(std::int64_t bucket_elements) : buckets_(bucket_elements) {}
  void begin_backward(sq::nn::ParameterArena& arena, sq::nn::ExecutionContext&) override {
    buckets_.begin(arena);
    grads_ = arena.grads().data<float>();
    numel_ = arena.numel();
    for (std::int64_t i = 0; i < numel_; ++i) grads_[i] = std::numeric_limits<float>::quiet_NaN();  // unwritten
    const std::size_t n = buckets_.buckets().size();
    snapshots_.assign(n, {});
    released_.assign(n, 0);
    early_ = 0;
  }
  void grads_ready(const sq::nn::Module& layer, sq::nn::ExecutionContext&) override {
    for (const int i : buckets_.layer_done(layer)) {
      take(i);
      ++early_;
    }
  }
  void reduce(sq::nn::ParameterArena&, sq::nn::ExecutionContext&) override {
    for (const int i : buckets_.end()) take(i);
    for (std::size_t i = 0; i < snapshots_.size(); ++i) {
      const Bucket& b = buckets_.buckets()[i];
      EXPECT_EQ(released_[i], 1) << "bucket " << i << " released " << released_[i] << " times";
      const std::vector<float> now(grads_ + b.begin, grads_ + b.end);
      ASSERT_EQ(snapshots_[i].size(), now.size());
      EXPECT_EQ(std::memcmp(snapshots_[i].data(), now.data(), now.size() * sizeof(float)), 0)
          << "bucket " << i << " [" << b.begin << ", " << b.end << ") changed after it was released";
      for (const float v : now) ASSERT_FALSE(std::isnan(v)) << "bucket " << i << " holds an unwritten gradient";
    }
    ++steps_;
  }
  bool capturable() const override { return false; }
  int world_size() const override { return 1; }

  int early() const { return early_; }
  int steps() const { return steps_; }
  std::size_t bucket_count() const { return buckets_.buckets().size(); }

 private:
  void take(int i) {
    const Bucket& b = buckets_.buckets()[static_cast<std::size_t>(i)];
    snapshots_[static_cast<std::size_t>(i)].assign(grads_ + b.begin, grads_ + b.end);
    ++released_[static_cast<std::size_t>(i)];
  }
  sq::dist::BackwardBuckets buckets_;
  float* grads_ = nullptr;
  std::int64_t numel_ = 0;
  std::vector<std::vector<float>> snapshots_;
  std::vector<int> released_;
  int early_ = 0, steps_ = 0;
};

void check_releases(const std::string& arch, std::int64_t bucket_elements) {
  SCOPED_TRACE(arch);
  const sq::data::Dataset data = sq::test::synthetic_dataset(16, 3, 8, 10, 3);
  sq::data::AugmentOptions aug;
  aug.out_height = aug.out_width = 8;
  sq::data::BatchLoader loader(data, sq::Device::cpu(), aug, sq::data::compute_normalization(data), 4, 1, true);
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  sq::nn::ModelSpec spec;
  spec.arch = arch;
  spec.image_size = 8;
  std::unique_ptr<sq::nn::Model> model = sq::nn::build_model(spec, std::nullopt, ctx, 4);
  ReleaseProbe probe(bucket_elements);
  sq::train::TrainerOptions options;
  options.gradient_sync = &probe;
  sq::train::Trainer trainer(*model, ctx, options);
  loader.start_epoch(0);
  for (int step = 0; step < 3; ++step) {
    const sq::data::Batch* b = loader.next();
    ASSERT_NE(b, nullptr);
    trainer.train_step(b->images, b->labels, 0.01f);
    ASSERT_EQ(probe.steps(), step + 1);
    if (step == 0) {
      EXPECT_EQ(probe.early(), 0) << "the first step records the backward order and releases at the end";
    } else {
      EXPECT_GT(probe.bucket_count(), 2u);
      EXPECT_GT(probe.early(), static_cast<int>(probe.bucket_count()) / 2)
          << "most buckets should start during backward";
    }
  }
}

TEST(DistBucketSchedule, BucketsReleasedDuringBackwardHoldTheirFinalGradients) {
  check_releases("small_cnn", 300);
  check_releases("resnet20", 4096);
}

// A layer that reports in another order than the first step's is an error, not a wrong all-reduce.
class Silent final : public sq::nn::Module {
 public:
  std::string type() const override { return "Silent"; }
  sq::Shape setup(const sq::Shape& input, sq::nn::ExecutionContext&) override { return input; }
  const sq::Tensor& forward(const sq::Tensor& input, sq::nn::ExecutionContext&) override { return input; }
  const sq::Tensor& backward(const sq::Tensor& g, sq::nn::ExecutionContext&) override { return g; }
};

TEST(DistBucketSchedule, AChangedBackwardOrderIsRefused) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  sq::nn::ModelSpec spec;
  spec.arch = "small_cnn";
  spec.image_size = 8;
  std::unique_ptr<sq::nn::Model> model = sq::nn::build_model(spec, std::nullopt, ctx, 4);
  sq::dist::BackwardBuckets buckets(100);
  Silent a, b;
  buckets.begin(model->arena());
  EXPECT_TRUE(buckets.recording());
  EXPECT_TRUE(buckets.layer_done(a).empty());
  EXPECT_TRUE(buckets.layer_done(b).empty());
  EXPECT_EQ(buckets.end().size(), buckets.buckets().size()) << "recording step: every bucket at the end";
  buckets.begin(model->arena());
  EXPECT_FALSE(buckets.recording());
  buckets.layer_done(a);
  buckets.layer_done(b);
  EXPECT_EQ(buckets.end().size(), buckets.buckets().size()) << "the model's own layers never reported: all late";
  buckets.begin(model->arena());
  try {
    buckets.layer_done(b);
    ADD_FAILURE() << "no error";
  } catch (const sq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("backward order differs"), std::string::npos) << e.what();
  }
}

}  // namespace
