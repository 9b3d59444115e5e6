// Trainer: the eager step, its CUDA-graph capture and replay, and evaluation with quantized / hybrid weights.
#include "sq/train/trainer.hpp"

#include <cstdio>
#include <exception>

#include "sq/config.hpp"
#include "sq/core/error.hpp"
#include "sq/data/batch_loader.hpp"
#include "sq/dist/gradient_sync.hpp"
#include "sq/quant/pipeline.hpp"
#include "train/nvtx_range.hpp"

#if SQ_WITH_CUDA
#include <cuda_runtime_api.h>

#include "cuda/cuda_libraries.hpp"
#include "cuda/step_graph.hpp"
#include "sq/core/cuda_check.hpp"
#else
namespace sq::train::detail {
class StepGraph {};  // never constructed without CUDA
}  // namespace sq::train::detail
#endif

namespace sq::train {

namespace {
// Host-side changes between steps (pipeline uploads, legacy-stream copies) do not order with the context's
// non-blocking stream: wait for everything before and after them. Never called inside a step.
void wait_for_device(const nn::ExecutionContext& ctx) {
#if SQ_WITH_CUDA
  if (ctx.on_gpu()) SQ_CUDA_CHECK(cudaDeviceSynchronize());
#else
  (void)ctx;
#endif
}

// Work on cuda:N must run with N current (the libraries' handles and the stream belong to it).
void use_device(const nn::ExecutionContext& ctx) {
#if SQ_WITH_CUDA
  if (ctx.on_gpu()) SQ_CUDA_CHECK(cudaSetDevice(ctx.device.index));
#else
  (void)ctx;
#endif
}

// The context's cuDNN workspace generation (0 on the CPU).
std::uint64_t workspace_generation(const nn::ExecutionContext& ctx) {
#if SQ_WITH_CUDA
  if (ctx.cuda) return ctx.cuda->workspace_generation;
#endif
  (void)ctx;
  return 0;
}
}  // namespace

EvalWeights parse_eval_weights(const std::string& name) {
  if (name == "quantized") return EvalWeights::quantized;
  if (name == "hybrid") return EvalWeights::hybrid;
  if (name == "full-precision") return EvalWeights::full_precision;
  SQ_FAIL("unknown evaluation weights '" << name << "': use quantized, hybrid or full-precision");
}

std::string to_string(EvalWeights weights) {
  switch (weights) {
    case EvalWeights::quantized: return "quantized";
    case EvalWeights::hybrid: return "hybrid";
    case EvalWeights::full_precision: return "full-precision";
  }
  return "?";
}

Trainer::Trainer(nn::Model& model, nn::ExecutionContext& ctx, TrainerOptions options)
    : model_(&model), ctx_(&ctx), options_(options), sgd_(model.arena(), options.sgd) {
  SQ_CHECK(ctx.device == model.device(),
           "Trainer: context on " << ctx.device.str() << ", model on " << model.device().str());
}

Trainer::~Trainer() = default;

bool Trainer::graph_active() const {
#if SQ_WITH_CUDA
  return graph_ && graph_->ready();
#else
  return false;
#endif
}

void Trainer::invalidate_graph() {
#if SQ_WITH_CUDA
  if (graph_) graph_->reset();
#endif
  eager_steps_at_batch_ = 0;
}

void Trainer::check_batch(const Tensor& images, const Tensor& labels) const {
  const nn::ModelSpec& spec = model_->spec();
  SQ_CHECK(images.ndim() == 4 && images.dim(1) == spec.in_channels && images.dim(2) == spec.image_size &&
               images.dim(3) == spec.image_size && images.dtype() == DType::f32,
           "batch images " << shape_str(images.shape()) << " " << dtype_name(images.dtype()) << " do not fit model "
                           << spec.arch << ": expected float32 [N, " << spec.in_channels << ", " << spec.image_size
                           << ", " << spec.image_size << "]");
  SQ_CHECK(labels.ndim() == 1 && labels.dim(0) == images.dim(0) && labels.dtype() == DType::i32,
           "batch labels " << shape_str(labels.shape()) << " " << dtype_name(labels.dtype()) << " must be int32 ["
                           << images.dim(0) << "]");
  SQ_CHECK(images.device() == model_->device() && labels.device() == model_->device(),
           "batch on " << images.device().str() << " / " << labels.device().str() << ", model on "
                       << model_->device().str());
}

void Trainer::ensure_batch(const Tensor& images, const Tensor& labels) {
  check_batch(images, labels);
  if (model_->batch() != images.dim(0)) model_->setup(images.dim(0), *ctx_);
  if (model_->setup_generation() != setup_generation_) {
    // New buffers (this setup, or one by other code): a recorded graph would use freed memory.
    invalidate_graph();
    setup_generation_ = model_->setup_generation();
  }
  // The cuDNN workspace is the context's: a setup of any model on it (another model, an evaluation network) may
  // have moved it under the recorded graph.
  if (graph_active() && workspace_generation(*ctx_) != graph_workspace_generation_) invalidate_graph();
}

// The step itself. `captured`: runs under CUDA graph capture, so per-step scalars come from device memory.
void Trainer::step_body(const Tensor& images, const Tensor& labels, float lr, bool captured) {
  nn::ExecutionContext& ctx = *ctx_;
  ctx.training = true;
  ctx.step = step_;
#if SQ_WITH_CUDA
  ctx.device_step = captured ? graph_->device_step() : nullptr;
#endif
  nn::ParameterArena& arena = model_->arena();
  if (quant::SqPipeline* pipeline = model_->pipeline()) {
    detail::NvtxRange range("sq pipeline");
    pipeline->run(arena.values().data<float>(), arena.hybrid().data<float>(), step_, ctx.stream, ctx.device_step);
  }
  const Tensor* logits = nullptr;
  {
    detail::NvtxRange range("forward");
    logits = &model_->root().forward(images, ctx);
  }
  {
    detail::NvtxRange range("loss");
    model_->loss().forward(*logits, labels, ctx);
  }
  {
    detail::NvtxRange range("backward");
    // Data parallelism: each gradient bucket's all-reduce starts as soon as the layers writing it are done.
    if (options_.gradient_sync) {
      options_.gradient_sync->begin_backward(arena, ctx);
      ctx.backward_observer = options_.gradient_sync;
    }
    model_->root().backward(model_->loss().backward(ctx), ctx);
    ctx.backward_observer = nullptr;
  }
  if (options_.gradient_sync) {
    detail::NvtxRange range("gradient all-reduce");
    options_.gradient_sync->reduce(arena, ctx);
  }
  {
    detail::NvtxRange range("sgd");
#if SQ_WITH_CUDA
    if (captured) {
      sgd_.step_device_lr(graph_->device_lr(), ctx.stream);
    } else {
      sgd_.step(lr, ctx.stream);
    }
#else
    (void)captured;  // CPU-only builds never capture
    sgd_.step(lr, ctx.stream);
#endif
  }
  ctx.device_step = nullptr;
}

void Trainer::train_step(const Tensor& images, const Tensor& labels, float lr) {
  detail::NvtxRange range("train step");
  use_device(*ctx_);
  ensure_batch(images, labels);
  eval_prepared_ = false;
  last_loss_ = &model_->loss();
  const bool can_capture = ctx_->on_gpu() || options_.capture_hook_for_testing;
  const bool want_graph = options_.use_graph && can_capture && graph_failure_.empty() &&
                          (!options_.gradient_sync || options_.gradient_sync->capturable());
  // Eager. On the GPU the first step at a batch size also lets the libraries finish their lazy setup before
  // anything is captured; after a failed capture every step is eager.
  if (!want_graph || eager_steps_at_batch_ == 0 || (!graph_active() && !try_capture(images, labels, lr))) {
    step_body(images, labels, lr, false);
    ++eager_steps_at_batch_;
    ++step_;
    if (options_.gradient_sync) options_.gradient_sync->step_enqueued(*ctx_);
    return;
  }
#if SQ_WITH_CUDA
  const cudaStream_t stream = reinterpret_cast<cudaStream_t>(ctx_->stream);
  detail::StepGraph::stage(staged_images_.raw(), images.raw(), images.bytes(), stream);
  detail::StepGraph::stage(staged_labels_.raw(), labels.raw(), labels.bytes(), stream);
  graph_->upload(step_, lr, stream);
  graph_->launch(stream);
  ++step_;
  if (options_.gradient_sync) options_.gradient_sync->step_enqueued(*ctx_);
#endif
}

// Records the step as a graph (nothing runs). False when there is none to replay: the capture failed (logged
// once, with the error; from then on every step is eager: a failure is a property of the libraries' choices,
// e.g. an algorithm that allocates or forks a stream, and would repeat at every attempt), or, on the CPU, the
// test hook stood in for it.
bool Trainer::try_capture(const Tensor& images, const Tensor& labels, float lr) {
  try {
#if SQ_WITH_CUDA
    if (ctx_->on_gpu()) {
      const cudaStream_t stream = reinterpret_cast<cudaStream_t>(ctx_->stream);
      if (!graph_) graph_ = std::make_unique<detail::StepGraph>(ctx_->device, stream);
      staged_images_ = Tensor(images.shape(), DType::f32, images.device());
      staged_labels_ = Tensor(labels.shape(), DType::i32, labels.device());
      graph_->capture(
          [&] {
            if (options_.capture_hook_for_testing) options_.capture_hook_for_testing();
            step_body(staged_images_, staged_labels_, lr, true);
          },
          stream);
      graph_workspace_generation_ = workspace_generation(*ctx_);
      return true;
    }
#endif
    (void)images;
    (void)labels;
    (void)lr;
    options_.capture_hook_for_testing();
    return false;
  } catch (const std::exception& e) {
    ctx_->device_step = nullptr;  // step_body did not get to reset it
#if SQ_WITH_CUDA
    if (graph_) graph_->reset();
    staged_images_ = Tensor();
    staged_labels_ = Tensor();
#endif
    graph_failure_ = e.what();
    const std::string message = "sq: capturing the training step as a CUDA graph failed (" + graph_failure_ +
                                "); running eager steps for the rest of the run";
    if (options_.log) {
      options_.log(message);
    } else {
      std::fprintf(stderr, "%s\n", message.c_str());
    }
    return false;
  }
}

void Trainer::write_eval_weights() {
  quant::SqPipeline* pipeline = model_->pipeline();
  if (!pipeline) return;  // FWN: every layer computes with its master weights
  nn::ParameterArena& arena = model_->arena();
  switch (eval_weights_) {
    case EvalWeights::quantized:
      pipeline->quantize_all(arena.values().data<float>(), arena.hybrid().data<float>(), ctx_->stream);
      break;
    case EvalWeights::hybrid:
      pipeline->run(arena.values().data<float>(), arena.hybrid().data<float>(), options_.eval_draw_step, ctx_->stream);
      break;
    case EvalWeights::full_precision:
      // The hybrid arena is the quantized prefix of the value arena: W~ = W.
      wait_for_device(*ctx_);
      copy_bytes(arena.hybrid().raw(), arena.device(), arena.values().raw(), arena.device(), arena.hybrid().bytes());
      wait_for_device(*ctx_);
      break;
  }
}

void Trainer::prepare_eval(EvalWeights weights) {
  eval_weights_ = weights;
  write_eval_weights();
  eval_prepared_ = true;
}

void Trainer::eval_batch(const Tensor& images, const Tensor& labels) {
  detail::NvtxRange range("eval batch");
  SQ_CHECK(eval_prepared_, "Trainer::eval_batch: call prepare_eval(weights) after the last training step");
  use_device(*ctx_);
  check_batch(images, labels);
  nn::ExecutionContext& ctx = *ctx_;
  // Another batch size than training's runs on the model's evaluation network: the training setup (and a
  // recorded graph over it) stays.
  const nn::EvalNetwork net = model_->eval_network(images.dim(0), ctx);
  last_loss_ = net.loss;
  const bool was_training = ctx.training;
  ctx.training = false;
  ctx.device_step = nullptr;
  try {
    const Tensor& logits = net.root->forward(images, ctx);
    net.loss->forward(logits, labels, ctx);
    last_eval_logits_ = &logits;
  } catch (...) {
    ctx.training = was_training;
    throw;
  }
  ctx.training = was_training;
}

void Trainer::recalibrate_bn(data::BatchSource& loader, std::int64_t batches) {
  detail::NvtxRange range("bn recalibration");
  SQ_CHECK(eval_prepared_, "Trainer::recalibrate_bn: call prepare_eval(weights) first (it writes the weights)");
  SQ_CHECK(batches >= 0, "Trainer::recalibrate_bn: batches must be >= 0, got " << batches);
  if (batches == 0) return;
  use_device(*ctx_);
  // Reset (running mean 0, variance 1, like a new layer); batch 0's momentum 1 then overwrites them anyway.
  wait_for_device(*ctx_);
  model_->reset_running_stats();
  wait_for_device(*ctx_);
  nn::ExecutionContext& ctx = *ctx_;
  const bool was_training = ctx.training, had_dropout = ctx.dropout;
  const float own_momentum = ctx.bn_momentum;
  auto restore = [&] {
    ctx.training = was_training;
    ctx.dropout = had_dropout;
    ctx.bn_momentum = own_momentum;
  };
  try {
    std::uint64_t epoch = 0;
    loader.start_epoch(epoch);
    for (std::int64_t k = 0; k < batches; ++k) {
      const data::Batch* b = loader.next();
      if (!b) {
        loader.start_epoch(++epoch);
        b = loader.next();
        SQ_CHECK(b, "Trainer::recalibrate_bn: the recalibration loader yields no batch");
      }
      ensure_batch(b->images, b->labels);
      ctx.training = true;
      ctx.dropout = false;
      ctx.device_step = nullptr;
      ctx.bn_momentum = 1.f / static_cast<float>(k + 1);
      model_->root().forward(b->images, ctx);
    }
  } catch (...) {
    restore();
    throw;
  }
  restore();
}

std::vector<Tensor> Trainer::copy_buffers() {
  wait_for_device(*ctx_);
  std::vector<Tensor> out;
  for (const nn::NamedBuffer& b : model_->buffers()) out.push_back(b.tensor->clone());
  wait_for_device(*ctx_);
  return out;
}

void Trainer::restore_buffers(const std::vector<Tensor>& saved) {
  std::vector<nn::NamedBuffer> buffers = model_->buffers();
  SQ_CHECK(saved.size() == buffers.size(),
           "Trainer::restore_buffers: " << saved.size() << " saved buffers for " << buffers.size() << " in the model");
  wait_for_device(*ctx_);
  for (std::size_t i = 0; i < saved.size(); ++i) buffers[i].tensor->copy_from(saved[i]);
  wait_for_device(*ctx_);
}

float Trainer::read_loss() {
  return (last_loss_ ? *last_loss_ : model_->loss()).read_loss();
}

std::int64_t Trainer::read_correct() {
  return (last_loss_ ? *last_loss_ : model_->loss()).read_correct();
}

std::int64_t Trainer::read_top_k_correct(const Tensor& labels, int k) {
  SQ_CHECK(last_eval_logits_ != nullptr, "Trainer::read_top_k_correct: no evaluation batch yet");
  wait_for_device(*ctx_);
  const Tensor logits = last_eval_logits_->to(Device::cpu());
  const std::vector<std::int32_t> truth = labels.to_vector<std::int32_t>();
  const std::int64_t rows = logits.dim(0), classes = logits.dim(1);
  SQ_CHECK(static_cast<std::int64_t>(truth.size()) == rows,
           "Trainer::read_top_k_correct: " << truth.size() << " labels for " << rows << " rows of logits");
  const float* z = logits.data<float>();
  std::int64_t correct = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = z + r * classes;
    const float mine = row[truth[static_cast<std::size_t>(r)]];
    std::int64_t above = 0;  // classes ranked strictly above the true one
    for (std::int64_t c = 0; c < classes; ++c) above += row[c] > mine ? 1 : 0;
    correct += above < k ? 1 : 0;
  }
  return correct;
}

void Trainer::set_ratio(double ratio) {
  use_device(*ctx_);
  wait_for_device(*ctx_);
  if (quant::SqPipeline* pipeline = model_->pipeline()) pipeline->set_ratio(ratio, ctx_->stream);
  wait_for_device(*ctx_);
  invalidate_graph();
}

void Trainer::set_stage(int stage) {
  use_device(*ctx_);
  wait_for_device(*ctx_);
  if (quant::SqPipeline* pipeline = model_->pipeline()) pipeline->set_stage(stage, ctx_->stream);
  wait_for_device(*ctx_);
  invalidate_graph();
}

}  // namespace sq::train
