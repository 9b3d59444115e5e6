// Trainer: the SQ training step (SQ pipeline -> forward -> loss -> backward -> SGD) with no host sync or
// allocation inside, optionally captured once as a CUDA graph; and the evaluation forward.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sq/core/tensor.hpp"
#include "sq/nn/context.hpp"
#include "sq/nn/models.hpp"
#include "sq/train/optimizer.hpp"

namespace sq::data {
class BatchSource;
}
namespace sq::dist {
class GradientSync;  // include/sq/dist/gradient_sync.hpp
}

namespace sq::train {

// Which weights an evaluation uses (SQ_SPEC section 7):
//   quantized:      the fully quantized network (r = 1, deterministic; SqPipeline::quantize_all): the headline
//   hybrid:         the hybrid at the current ratio with a fixed evaluation draw (what the authors' code reported)
//   full_precision: the master weights W (a diagnostic)
// For FWN models all three are the master weights.
enum class EvalWeights { quantized, hybrid, full_precision };
EvalWeights parse_eval_weights(const std::string& name);  // "quantized", "hybrid", "full-precision"
std::string to_string(EvalWeights weights);

struct TrainerOptions {
  SgdOptions sgd;
  // GPU only: capture the whole step as one CUDA graph after one eager step at a batch size, replay it after.
  bool use_graph = true;
  // The SQ "step" a hybrid evaluation draws with: a fixed value no training run reaches (SqPipeline takes
  // steps < 2^47), so every evaluation at a given ratio and weights sees the same selection.
  std::uint64_t eval_draw_step = (std::uint64_t{1} << 47) - 1;
  // Where the trainer reports a change it makes on its own (a failed CUDA graph capture: eager steps from then
  // on). Empty: one line on stderr.
  std::function<void(const std::string&)> log;
  // Data parallelism (docs/DISTRIBUTED.md): averages the gradients over the ranks between backward and SGD.
  // Not owned; null: one process. One that cannot be recorded in a CUDA graph (MPI) makes every step eager.
  dist::GradientSync* gradient_sync = nullptr;
  // Tests only: called where the step graph is captured (on the GPU inside the capture, before the step's work);
  // an exception from it is a capture failure. With it set, a CPU trainer goes through the graph path too, the
  // hook standing in for the capture (there is no graph to record on the CPU, so the steps stay eager).
  std::function<void()> capture_hook_for_testing;
};

namespace detail {
class StepGraph;  // src/cuda/step_graph.hpp (CUDA builds)
}

class Trainer {
 public:
  // The model must outlive the trainer; ctx is the context the model was built with (its stream is used).
  Trainer(nn::Model& model, nn::ExecutionContext& ctx, TrainerOptions options = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // One optimisation step on images f32 [N, C, H, W] and labels i32 [N] on the model's device, at learning
  // rate lr: W -> hybrid W~ (skipped for FWN) -> forward -> loss -> backward -> SGD; then step() advances.
  // A new batch size re-runs setup (allocation) first; otherwise nothing allocates or waits for the device.
  void train_step(const Tensor& images, const Tensor& labels, float lr);

  // Evaluation: prepare_eval writes the weights once for a whole pass; eval_batch is a forward + loss in eval
  // mode (BN running statistics, no dropout), no host sync; read the results with read_loss / read_correct.
  void prepare_eval(EvalWeights weights);
  void eval_batch(const Tensor& images, const Tensor& labels);

  // BN recalibration for the weights prepare_eval wrote (call it after prepare_eval): resets every BatchNorm's
  // running statistics and runs `batches` training-mode forwards (no SQ draw, loss, backward or SGD; dropout
  // off) on batches from `loader` (epoch 0 first, the next epochs if it runs out), with momentum 1 / (k + 1) for
  // batch k, so the running statistics become the plain average of the batch statistics (PyTorch's
  // momentum=None). The model is set up for the loader's batch when it differs. Outside steps only.
  void recalibrate_bn(data::BatchSource& loader, std::int64_t batches);
  // Copies of the model's buffers (BN running statistics) and their restoration, around a recalibration.
  std::vector<Tensor> copy_buffers();
  void restore_buffers(const std::vector<Tensor>& saved);

  // Results of the last train_step or eval_batch; these wait for the device (call them only to report). Other
  // reads of device tensors (weights for a checkpoint) must first wait for the context's stream too.
  float read_loss();
  std::int64_t read_correct();
  // After eval_batch: how many of `labels` are among the k highest logits (top-5 error on ImageNet). Waits for
  // the device and copies the logits to the host (evaluation only).
  std::int64_t read_top_k_correct(const Tensor& labels, int k);

  // Global optimisation step: SQ draws and dropout masks are functions of (seed, step, ...). Set on resume.
  std::uint64_t step() const { return step_; }
  void set_step(std::uint64_t step) { step_ = step; }

  // Between steps: a new SQ ratio / stage (SqPipeline::set_ratio / set_stage); re-captures the graph.
  void set_ratio(double ratio);
  void set_stage(int stage);
  // Between stages: momentum restarts (SQ_SPEC section 7).
  void reset_optimizer() { sgd_.reset(ctx_->stream); }

  Sgd& optimizer() { return sgd_; }
  nn::Model& model() { return *model_; }
  const TrainerOptions& options() const { return options_; }
  // True once a CUDA graph of the step is captured and replayed (GPU, use_graph, second step at a batch size).
  bool graph_active() const;
  // Empty, or why capturing the step failed (the CUDA error): the trainer then runs eager steps for good.
  const std::string& graph_failure() const { return graph_failure_; }
  // Drops the captured graph; the next step runs eagerly and the one after re-captures.
  void invalidate_graph();

 private:
  void check_batch(const Tensor& images, const Tensor& labels) const;
  void ensure_batch(const Tensor& images, const Tensor& labels);
  void step_body(const Tensor& images, const Tensor& labels, float lr, bool captured);
  bool try_capture(const Tensor& images, const Tensor& labels, float lr);
  void write_eval_weights();

  nn::Model* model_;
  nn::ExecutionContext* ctx_;
  TrainerOptions options_;
  Sgd sgd_;
  std::uint64_t step_ = 0;
  int eager_steps_at_batch_ = 0;
  std::uint64_t setup_generation_ = 0;  // the model's, when the graph was recorded
  EvalWeights eval_weights_ = EvalWeights::quantized;
  bool eval_prepared_ = false;
  nn::SoftmaxCrossEntropy* last_loss_ = nullptr;  // the loss of the last step or evaluation batch
  const Tensor* last_eval_logits_ = nullptr;      // the logits of the last evaluation batch
  std::string graph_failure_;
  std::uint64_t graph_workspace_generation_ = 0;  // the context's cuDNN workspace, when the graph was recorded
  std::unique_ptr<detail::StepGraph> graph_;
  Tensor staged_images_, staged_labels_;  // GPU graph inputs: the caller's batch is copied here
};

}  // namespace sq::train
