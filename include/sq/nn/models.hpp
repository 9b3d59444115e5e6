// The paper's networks (VGG-9, ResNet-20/32/44/56/110 for 32x32 inputs, SQ_SPEC section 8) and a small CNN for
// fast CPU tests, built from one ModelSpec; Model owns the network, its parameter arena, SQ pipeline and loss.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sq/nn/context.hpp"
#include "sq/nn/loss.hpp"
#include "sq/nn/module.hpp"
#include "sq/nn/parameter.hpp"
#include "sq/quant/options.hpp"

namespace sq::quant {
class SqPipeline;
}

namespace sq::nn {

struct ModelSpec {
  // "vgg9", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "small_cnn"; ImageNet (224x224 inputs,
  // any size >= 32 / 64): "resnet18", "alexnet_bn" (docs/IMAGENET.md)
  std::string arch = "vgg9";
  int in_channels = 3;         // 1 (Fashion-MNIST, padded to 32x32) or 3 (CIFAR)
  int classes = 10;            // 10 or 100
  int image_size = 32;         // square inputs; VGG-9 needs a multiple of 8
  bool quantize_first = true;  // the first conv goes through SQ (the paper: yes)
  bool quantize_last = true;   // the last FC goes through SQ (the paper: yes)
  float dropout_scale = 1.0f;  // multiplies VGG-9's dropout rates (.25 after conv stages, .5 after FC512); 0: none
  bool decay_1d = true;        // weight decay on 1-D parameters (BN gamma/beta, biases); the paper decays all

  void validate() const;  // throws sq::Error naming the bad field
};

// All architectures build_model knows, in the order a help text lists them.
const std::vector<std::string>& known_architectures();
// resnet18 and alexnet_bn: 224x224 ImageNet networks (tens of millions of weights; alexnet_bn needs inputs >= 63).
bool is_imagenet_architecture(const std::string& arch);

// One row of a model summary: a top-level layer (a BasicBlock counts as one row).
struct LayerInfo {
  std::string name;         // "conv1", "stage2.block0"; "" for unnamed layers (ReLU, pools)
  std::string type;         // Module::type()
  std::string description;  // Module::describe()
  Shape output;             // per sample: [C, H, W] or [F]
  std::int64_t params = 0;
  std::int64_t quantized_params = 0;  // elements of weights that pass through SQ
  std::int64_t quantized_rows = 0;    // their output channels: one fp32 scale each when packed
};

// The network alone: root module (a Sequential) and its summary rows. `quantize`: conv/FC weights are quantized
// layers (SQ options present); false builds every layer full precision (FWN).
struct Architecture {
  std::unique_ptr<Module> root;
  std::vector<LayerInfo> layers;
};
Architecture build_architecture(const ModelSpec& spec, bool quantize);

// Parameter storage of a model, in full precision and packed low-bit: quantized weights at `bits` per weight
// (each row padded to whole bytes) plus one fp32 scale per row; all other parameters fp32.
struct ModelSize {
  std::int64_t params = 0, quantized_params = 0, quantized_rows = 0;
  int bits = 32;  // bits per quantized weight: 1 BWN, 2 TWN, k for k-bit; 32 for FWN
  std::int64_t fp32_bytes = 0, packed_bytes = 0;
};
int quantized_bits(const quant::SqOptions& options);

// The network an evaluation pass runs (Model::eval_network): its root module and the loss to read.
struct EvalNetwork {
  Module* root;
  SoftmaxCrossEntropy* loss;
};

class Model {
 public:
  // Binds all parameters in one arena on ctx.device, initialises them from `seed` (He-normal conv/FC weights,
  // BN gamma 1 / beta 0, biases 0) and, when `sq` is set and any weight is quantized, builds the SQ pipeline.
  // `rebuild` (optional) builds the same architecture again: the evaluation network's layers (eval_network).
  Model(const ModelSpec& spec, Architecture architecture, std::optional<quant::SqOptions> sq, ExecutionContext& ctx,
        std::uint64_t seed, std::function<Architecture()> rebuild = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelSpec& spec() const { return spec_; }
  Module& root() { return *root_; }
  ParameterArena& arena() { return arena_; }
  // nullptr for FWN (no quantization: the pipeline is skipped and every layer computes with its master weights).
  quant::SqPipeline* pipeline() { return pipeline_.get(); }
  const std::optional<quant::SqOptions>& sq_options() const { return sq_; }
  SoftmaxCrossEntropy& loss() { return loss_; }
  Device device() const { return device_; }
  std::uint64_t seed() const { return seed_; }

  // Allocates every buffer for inputs [batch, in_channels, image_size, image_size] (outside any step); returns
  // the logits shape. Every call sets the layers up again (Trainer calls it only when the batch size changes).
  Shape setup(std::int64_t batch, ExecutionContext& ctx);
  std::int64_t batch() const { return batch_; }
  // Counts setups: buffers (and so any CUDA graph recorded over them) change at each one.
  std::uint64_t setup_generation() const { return setup_generation_; }

  // The network for forward-only evaluation of `batch` images (outside steps). At the training batch (or before
  // the first setup, or without `rebuild`) it is the training network, set up for `batch` if needed. Otherwise it
  // is a second copy of the layers, computing with the same parameters and BN running statistics (views, no
  // copies) but with its own activation buffers and forward-only algorithms, set up once per batch size (two
  // copies are kept: the full and the partial last batch of a pass): evaluation then never sets the training
  // layers up again (no new training buffers, no cudnnFind, no re-captured step graph).
  EvalNetwork eval_network(std::int64_t batch, ExecutionContext& ctx);
  // Setups of the evaluation copy so far (each allocates its buffers).
  std::uint64_t eval_setups() const { return eval_setups_; }
  // Every BatchNorm's running mean 0 and variance 1 (BN recalibration). Outside steps.
  void reset_running_stats();

  // Non-trained state for checkpoints: BN running statistics, in a fixed order with unique names. The names exist
  // from construction; the tensors are allocated by the first setup() (empty before it), kept by later ones.
  std::vector<NamedBuffer> buffers();

  const std::vector<LayerInfo>& layers() const { return layers_; }
  ModelSize size() const;
  // Text table: layers, output shapes, parameters, quantized or not; totals; size fp32 vs packed low-bit.
  std::string summary() const;

 private:
  ModelSpec spec_;
  std::optional<quant::SqOptions> sq_;
  std::unique_ptr<Module> root_;
  std::vector<LayerInfo> layers_;
  ParameterArena arena_;
  std::unique_ptr<quant::SqPipeline> pipeline_;
  SoftmaxCrossEntropy loss_;
  Device device_;
  std::uint64_t seed_;
  std::int64_t batch_ = 0;
  std::uint64_t setup_generation_ = 0;
  std::function<Architecture()> rebuild_;
  // Evaluation copies (eval_network): at most two, so a pass whose last batch is partial sets nothing up after its
  // first time; the least recently used one is set up again for a third batch size.
  struct EvalCopy;
  std::vector<std::unique_ptr<EvalCopy>> eval_copies_;
  std::uint64_t eval_uses_ = 0;
  std::uint64_t eval_setups_ = 0;
};

// spec.validate(), build_architecture(spec, sq.has_value()), then Model. `sq` empty: FWN. BWN / TWN: ratio 1.
std::unique_ptr<Model> build_model(const ModelSpec& spec, const std::optional<quant::SqOptions>& sq,
                                   ExecutionContext& ctx, std::uint64_t seed);

}  // namespace sq::nn
