// Architecture builders: VGG-9, ResNet-(6n+2), the ImageNet nets (ResNet-18, AlexNet-BN) and a small CNN as
// Sequentials, with a summary row per layer whose output shape is tracked here as layers are added (the layers compute
// shapes only at setup).
#include <algorithm>
#include <utility>

#include "sq/core/error.hpp"
#include "sq/nn/layers.hpp"
#include "sq/nn/models.hpp"

namespace sq::nn {

namespace {

// Appends layers to a Sequential and records one LayerInfo each, tracking the per-sample shape.
class LayerTable {
 public:
  LayerTable(Architecture& out, Shape input) : out_(out), shape_(std::move(input)) {
    auto root = std::make_unique<Sequential>("model");
    seq_ = root.get();
    out_.root = std::move(root);
  }

  const Shape& shape() const { return shape_; }
  std::int64_t channels() const { return shape_.at(0); }

  template <class M>
  M& add(std::unique_ptr<M> module, Shape output) {
    LayerInfo info;
    info.name = module->name();
    info.type = module->type();
    // BatchNorm names its kind from the input rank, known only at setup; the table knows it now.
    if (info.type == "BatchNorm2d" && output.size() == 1) info.type = "BatchNorm1d";
    info.description = module->describe();
    info.output = output;
    std::vector<Parameter*> params;
    module->collect_parameters(params);
    for (const Parameter* p : params) {
      const std::int64_t n = shape_numel(p->shape);
      info.params += n;
      if (p->quantized) {
        info.quantized_params += n;
        info.quantized_rows += p->rows();
      }
    }
    out_.layers.push_back(std::move(info));
    shape_ = std::move(output);
    return seq_->add(std::move(module));
  }

  // conv (no bias) -> BN -> ReLU, the unit every network here is made of.
  void conv_bn_relu(const std::string& name, int out, int kernel, int stride, int padding, bool quantized) {
    const std::int64_t h = (shape_.at(1) + 2 * padding - kernel) / stride + 1;
    const std::int64_t w = (shape_.at(2) + 2 * padding - kernel) / stride + 1;
    SQ_CHECK(h >= 1 && w >= 1, name << " (" << kernel << "x" << kernel << ", stride " << stride << ") gets a "
                                    << shape_.at(1) << "x" << shape_.at(2)
                                    << " input: the image size is too small for this architecture");
    add(std::make_unique<Conv2d>(name, static_cast<int>(channels()), out, kernel, stride, padding, false, quantized),
        {out, h, w});
    add(std::make_unique<BatchNorm>("bn" + name.substr(4), out), shape_);
    add(std::make_unique<ReLU>(), shape_);
  }
  void max_pool(int kernel, int stride) {
    SQ_CHECK(shape_.at(1) >= kernel && shape_.at(2) >= kernel,
             "a " << kernel << "x" << kernel << " max pool gets a " << shape_.at(1) << "x" << shape_.at(2)
                  << " input: the image size is too small for this architecture");
    add(std::make_unique<MaxPool2d>(kernel, stride),
        {channels(), (shape_.at(1) - kernel) / stride + 1, (shape_.at(2) - kernel) / stride + 1});
  }
  void dropout(const std::string& name, float p) {
    if (p > 0.f) add(std::make_unique<Dropout>(name, p), shape_);
  }
  void flatten() { add(std::make_unique<Flatten>(), {shape_numel(shape_)}); }
  void global_avg_pool() { add(std::make_unique<GlobalAvgPool>(), {channels()}); }
  void linear(const std::string& name, int out, bool bias, bool quantized) {
    add(std::make_unique<Linear>(name, static_cast<int>(shape_.at(0)), out, bias, quantized), {out});
  }

 private:
  Architecture& out_;
  Sequential* seq_;
  Shape shape_;
};

// SQ_SPEC section 8: 2x conv64 - pool - drop .25 - 2x conv128 - pool - drop .25 - 2x conv256 - pool - drop .25 -
// FC512 - FC512 - FC(classes); BN + ReLU after all but the last layer, dropout .5 after both FC512. Convs and
// the hidden FCs have no bias (BN follows); the classifier has one.
void build_vgg9(const ModelSpec& spec, bool quantize, LayerTable& t) {
  const float d = spec.dropout_scale;
  const int widths[3] = {64, 128, 256};
  int index = 1;
  for (int stage = 0; stage < 3; ++stage) {
    for (int i = 0; i < 2; ++i, ++index) {
      const bool first = index == 1;
      t.conv_bn_relu("conv" + std::to_string(index), widths[stage], 3, 1, 1,
                     quantize && (!first || spec.quantize_first));
    }
    t.max_pool(2, 2);
    t.dropout("drop" + std::to_string(stage + 1), 0.25f * d);
  }
  t.flatten();
  for (int i = 1; i <= 2; ++i) {
    const std::string n = std::to_string(i);
    t.linear("fc" + n, 512, false, quantize);
    t.add(std::make_unique<BatchNorm>("bnfc" + n, 512), t.shape());
    t.add(std::make_unique<ReLU>(), t.shape());
    t.dropout("dropfc" + n, 0.5f * d);
  }
  t.linear("fc3", spec.classes, true, quantize && spec.quantize_last);
}

// Stages of basic blocks (stage<i>.block<b>), one per width: stride 2 at the start of every stage after the first
// (the block projects its shortcut wherever the shape changes). Shared by the CIFAR ResNets and ResNet-18.
void add_basic_block_stages(std::initializer_list<int> widths, int blocks_per_stage, bool quantize, LayerTable& t) {
  int stage = 0;
  for (const int width : widths) {
    for (int b = 0; b < blocks_per_stage; ++b) {
      const int stride = stage > 0 && b == 0 ? 2 : 1;
      const std::int64_t h = (t.shape().at(1) - 1) / stride + 1;
      const std::int64_t w = (t.shape().at(2) - 1) / stride + 1;
      const std::string name = "stage" + std::to_string(stage + 1) + ".block" + std::to_string(b);
      t.add(std::make_unique<BasicBlock>(name, static_cast<int>(t.channels()), width, stride, quantize), {width, h, w});
    }
    ++stage;
  }
}

// He et al. 2016, CIFAR variant: conv16, three stages of n basic blocks (16, 32, 64 channels; stride 2 at the
// start of stages 2 and 3 with projection shortcuts + BN), global average pool, FC(classes) with bias.
void build_resnet(const ModelSpec& spec, bool quantize, int blocks_per_stage, LayerTable& t) {
  t.conv_bn_relu("conv1", 16, 3, 1, 1, quantize && spec.quantize_first);
  add_basic_block_stages({16, 32, 64}, blocks_per_stage, quantize, t);
  t.global_avg_pool();
  t.linear("fc", spec.classes, true, quantize && spec.quantize_last);
}

// For fast CPU tests: three conv-BN-ReLU units (8, 16, 32 channels, two max pools), global pool, FC.
void build_small_cnn(const ModelSpec& spec, bool quantize, LayerTable& t) {
  t.conv_bn_relu("conv1", 8, 3, 1, 1, quantize && spec.quantize_first);
  t.max_pool(2, 2);
  t.conv_bn_relu("conv2", 16, 3, 1, 1, quantize);
  t.max_pool(2, 2);
  t.conv_bn_relu("conv3", 32, 3, 1, 1, quantize);
  t.global_avg_pool();
  t.linear("fc", spec.classes, true, quantize && spec.quantize_last);
}

// He et al. 2016, ImageNet ResNet-18: conv 7x7/2 64 - max pool 3x3/2 - four stages of two basic blocks (64, 128,
// 256, 512 channels; stride 2 and a projection shortcut at the start of stages 2-4) - global average pool -
// FC(classes) with bias. The pool has no padding (MaxPool2d has none): 112 -> 55 at 224 inputs (56 in Caffe's
// ceil mode); the stages then give 28, 14, 7 as usual. The authors' Caffe net also projects in stage 1's first
// block (64 -> 64, 1x1); here that block has the identity shortcut, as in He et al.
void build_resnet18(const ModelSpec& spec, bool quantize, LayerTable& t) {
  t.conv_bn_relu("conv1", 64, 7, 2, 3, quantize && spec.quantize_first);
  t.max_pool(3, 2);
  add_basic_block_stages({64, 128, 256, 512}, 2, quantize, t);
  t.global_avg_pool();
  t.linear("fc", spec.classes, true, quantize && spec.quantize_last);
}

// AlexNet-BN as in the authors' Caffe definition (ImageNet/AlexNet-BN): conv 11x11/4 pad 2 96 - pool 3x3/2 -
// conv 5x5 pad 2 256 (no groups) - pool - conv 3x3 384, 384, 256 - pool - FC4096 - FC4096 - FC(classes); BN +
// ReLU after every conv and hidden FC, dropout .5 after both FC4096; no biases but the classifier's. 224 inputs:
// 55, 27, 27, 13, 13, 6 -> 9216 features.
void build_alexnet_bn(const ModelSpec& spec, bool quantize, LayerTable& t) {
  t.conv_bn_relu("conv1", 96, 11, 4, 2, quantize && spec.quantize_first);
  t.max_pool(3, 2);
  t.conv_bn_relu("conv2", 256, 5, 1, 2, quantize);
  t.max_pool(3, 2);
  t.conv_bn_relu("conv3", 384, 3, 1, 1, quantize);
  t.conv_bn_relu("conv4", 384, 3, 1, 1, quantize);
  t.conv_bn_relu("conv5", 256, 3, 1, 1, quantize);
  t.max_pool(3, 2);
  t.flatten();
  for (int i = 6; i <= 7; ++i) {
    const std::string n = std::to_string(i);
    t.linear("fc" + n, 4096, false, quantize);
    t.add(std::make_unique<BatchNorm>("bnfc" + n, 4096), t.shape());
    t.add(std::make_unique<ReLU>(), t.shape());
    t.dropout("drop" + n, 0.5f * spec.dropout_scale);
  }
  t.linear("fc8", spec.classes, true, quantize && spec.quantize_last);
}

int resnet_blocks(const std::string& arch) {
  const int depth = std::stoi(arch.substr(6));
  return (depth - 2) / 6;
}

}  // namespace

const std::vector<std::string>& known_architectures() {
  static const std::vector<std::string> names = {"vgg9",      "resnet20",  "resnet32", "resnet44",  "resnet56",
                                                 "resnet110", "small_cnn", "resnet18", "alexnet_bn"};
  return names;
}

bool is_imagenet_architecture(const std::string& arch) {
  return arch == "resnet18" || arch == "alexnet_bn";
}

void ModelSpec::validate() const {
  const auto& known = known_architectures();
  if (std::find(known.begin(), known.end(), arch) == known.end()) {
    std::string list;
    for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
    SQ_FAIL("unknown architecture '" << arch << "': use one of " << list);
  }
  SQ_CHECK(in_channels >= 1, "model in_channels = " << in_channels << " must be >= 1");
  SQ_CHECK(classes >= 2, "model classes = " << classes << " must be >= 2");
  SQ_CHECK(image_size >= 4, "model image_size = " << image_size << " must be >= 4");
  SQ_CHECK(arch != "vgg9" || image_size % 8 == 0,
           "vgg9 halves the image three times: image_size " << image_size << " must be a multiple of 8");
  SQ_CHECK(dropout_scale >= 0.f && dropout_scale * 0.5f < 1.f,
           "dropout_scale " << dropout_scale << " must keep the dropout rates in [0, 1)");
}

Architecture build_architecture(const ModelSpec& spec, bool quantize) {
  spec.validate();
  Architecture out;
  LayerTable table(out, {spec.in_channels, spec.image_size, spec.image_size});
  if (spec.arch == "vgg9") {
    build_vgg9(spec, quantize, table);
  } else if (spec.arch == "resnet18") {
    build_resnet18(spec, quantize, table);
  } else if (spec.arch == "alexnet_bn") {
    build_alexnet_bn(spec, quantize, table);
  } else if (spec.arch == "small_cnn") {
    build_small_cnn(spec, quantize, table);
  } else {
    build_resnet(spec, quantize, resnet_blocks(spec.arch), table);
  }
  return out;
}

}  // namespace sq::nn
