// configs/imagenet-*.json carry the authors' Caffe solver settings (ImageNet/<net>/<method>/solver*.prototxt):
// ResNet-18 batch 100, lr 0.05, steps at 100k/150k/200k/250k of 300k; AlexNet-BN batch 256, lr 0.01, steps at
// 100k/150k/180k of 200k; weight decay 5e-5, momentum 0.9; 224x224 inputs; SQ methods with four stages.
#include <gtest/gtest.h>

#include "sq/train/run_config.hpp"

namespace {

sq::train::RunConfig load(const std::string& name) {
  return sq::train::load_run_config(SQ_SOURCE_DIR "/configs/" + name + ".json");
}

TEST(ImagenetConfigs, CarryTheAuthorsSolverSettings) {
  for (const char* method : {"fwn", "bwn", "twn", "sq-bwn", "sq-twn"}) {
    SCOPED_TRACE(method);
    const sq::train::RunConfig r = load(std::string("imagenet-resnet18-") + method);
    EXPECT_EQ(r.method(), method);
    EXPECT_EQ(r.model.arch, "resnet18");
    EXPECT_EQ(r.data.dataset, "imagenet");
    EXPECT_EQ(r.data.image_size, 224);
    EXPECT_EQ(r.classes(), 1000);
    EXPECT_EQ(r.optim.batch, 100);
    EXPECT_EQ(r.data.eval_batch, 50);
    EXPECT_DOUBLE_EQ(r.optim.lr, 0.05);
    EXPECT_DOUBLE_EQ(r.optim.weight_decay, 5e-5);
    EXPECT_EQ(r.optim.iterations, 300000);
    EXPECT_EQ(r.optim.milestones, (std::vector<std::int64_t>{100000, 150000, 200000, 250000}));
    const sq::train::RunConfig a = load(std::string("imagenet-alexnet-bn-") + method);
    EXPECT_EQ(a.model.arch, "alexnet_bn");
    EXPECT_EQ(a.optim.batch, 256);
    EXPECT_EQ(a.data.eval_batch, 200);
    EXPECT_DOUBLE_EQ(a.optim.lr, 0.01);
    EXPECT_DOUBLE_EQ(a.optim.weight_decay, 5e-5);
    EXPECT_EQ(a.optim.iterations, 200000);
    EXPECT_EQ(a.optim.milestones, (std::vector<std::int64_t>{100000, 150000, 180000}));
    EXPECT_EQ(a.quant.stages.size(), std::string(method).rfind("sq-", 0) == 0 ? 4u : 1u);
  }
}

}  // namespace
