// Model: one network with its parameter arena, SQ pipeline and loss; setup per batch size; size and summary.
#include <iomanip>
#include <sstream>

#include "sq/config.hpp"
#include "sq/core/error.hpp"
#include "sq/nn/batchnorm.hpp"
#include "sq/nn/models.hpp"
#include "sq/quant/pipeline.hpp"

#if SQ_WITH_CUDA
#include <cuda_runtime_api.h>

#include "sq/core/cuda_check.hpp"
#endif

namespace sq::nn {

namespace {
// Arena initialisation and layer setup fill device buffers with copies/memsets on the legacy default stream,
// which does not order with the context's non-blocking stream: wait for them before any step is enqueued.
void wait_for_device(Device device) {
#if SQ_WITH_CUDA
  if (device.is_cuda()) SQ_CUDA_CHECK(cudaDeviceSynchronize());
#else
  (void)device;
#endif
}

// Allocation, library setup and kernels go to the current CUDA device: make it the model's (cuda:N, N > 0).
void use_device(Device device) {
#if SQ_WITH_CUDA
  if (device.is_cuda()) SQ_CUDA_CHECK(cudaSetDevice(device.index));
#else
  (void)device;
#endif
}

void for_each_module(Module& m, const std::function<void(Module&)>& f) {
  f(m);
  for (Module* c : m.children()) for_each_module(*c, f);
}
}  // namespace

int quantized_bits(const quant::SqOptions& options) {
  switch (options.quantizer) {
    case quant::Quantizer::bwn: return 1;
    case quant::Quantizer::twn:
    case quant::Quantizer::twn_caffe:
    case quant::Quantizer::twn_channel: return 2;
    case quant::Quantizer::kbit: return options.bits;
  }
  return 32;
}

Model::Model(const ModelSpec& spec, Architecture architecture, std::optional<quant::SqOptions> sq,
             ExecutionContext& ctx, std::uint64_t seed, std::function<Architecture()> rebuild)
    : spec_(spec),
      sq_(std::move(sq)),
      root_(std::move(architecture.root)),
      layers_(std::move(architecture.layers)),
      device_(ctx.device),
      seed_(seed),
      rebuild_(std::move(rebuild)) {
  SQ_CHECK(root_ != nullptr, "Model: the architecture has no root module");
  use_device(device_);
  std::vector<Parameter*> params;
  root_->collect_parameters(params);
  if (!spec_.decay_1d) {
    for (Parameter* p : params) {
      if (p->shape.size() == 1) p->decay = false;
    }
  }
  arena_.bind(params, device_);
  arena_.initialise(seed);
  if (sq_ && arena_.quantized_numel() > 0) {
    quant::validate(*sq_);
    std::vector<quant::SqSegment> segments;
    for (const QuantizedSegment& s : arena_.quantized_segments()) segments.push_back({s.offset, s.rows, s.cols});
    pipeline_ = std::make_unique<quant::SqPipeline>(std::move(segments), *sq_, device_);
    std::vector<std::string> names;  // errors name the model's parameters (conv2.weight), not arena offsets
    for (const Parameter* p : arena_.parameters()) {
      if (p->quantized) names.push_back(p->name);
    }
    pipeline_->set_layer_names(std::move(names));
  }
  wait_for_device(device_);
}

Model::~Model() = default;

Shape Model::setup(std::int64_t batch, ExecutionContext& ctx) {
  SQ_CHECK(batch >= 1, "Model::setup: batch " << batch << " must be >= 1");
  SQ_CHECK(ctx.device == device_, "Model::setup on " << ctx.device.str() << " for a model built on " << device_.str());
  use_device(device_);
  const Shape logits = root_->setup({batch, spec_.in_channels, spec_.image_size, spec_.image_size}, ctx);
  SQ_CHECK(logits.size() == 2 && logits[0] == batch && logits[1] == spec_.classes,
           "model " << spec_.arch << " produced logits " << shape_str(logits) << ", expected [" << batch << ", "
                    << spec_.classes << "]");
  loss_.setup(batch, spec_.classes, ctx);
  batch_ = batch;
  ++setup_generation_;
  wait_for_device(device_);
  return logits;
}

struct Model::EvalCopy {
  std::unique_ptr<Module> root;
  SoftmaxCrossEntropy loss;
  std::int64_t batch = 0;  // 0: not set up
  std::uint64_t used = 0;  // eval_uses_ at the last use
};

namespace {
constexpr std::size_t kEvalCopies = 2;
}  // namespace

EvalNetwork Model::eval_network(std::int64_t batch, ExecutionContext& ctx) {
  SQ_CHECK(batch >= 1, "Model::eval_network: batch " << batch << " must be >= 1");
  SQ_CHECK(ctx.device == device_,
           "Model::eval_network on " << ctx.device.str() << " for a model built on " << device_.str());
  if (batch == batch_ || batch_ == 0 || !rebuild_) {
    if (batch != batch_) setup(batch, ctx);
    return {root_.get(), &loss_};
  }
  use_device(device_);
  EvalCopy* copy = nullptr;
  for (const auto& c : eval_copies_) {
    if (c->batch == batch) copy = c.get();
  }
  if (!copy && eval_copies_.size() < kEvalCopies) {
    Architecture arch = rebuild_();
    SQ_CHECK(arch.root != nullptr, "Model: the rebuilt architecture has no root module");
    std::vector<Parameter*> mine, theirs;
    root_->collect_parameters(mine);
    arch.root->collect_parameters(theirs);
    SQ_CHECK(mine.size() == theirs.size(),
             "Model: the rebuilt architecture has " << theirs.size() << " parameters, the model " << mine.size());
    for (std::size_t i = 0; i < mine.size(); ++i) {
      SQ_CHECK(mine[i]->name == theirs[i]->name && mine[i]->shape == theirs[i]->shape,
               "Model: the rebuilt architecture's parameter " << i << " is '" << theirs[i]->name << "' "
                                                              << shape_str(theirs[i]->shape) << ", the model's '"
                                                              << mine[i]->name << "' " << shape_str(mine[i]->shape));
      theirs[i]->value = mine[i]->value.view(0, mine[i]->shape);
      theirs[i]->grad = mine[i]->grad.view(0, mine[i]->shape);
      theirs[i]->effective = mine[i]->effective.view(0, mine[i]->shape);
    }
    eval_copies_.push_back(std::make_unique<EvalCopy>());
    eval_copies_.back()->root = std::move(arch.root);
    copy = eval_copies_.back().get();
  }
  if (!copy) {  // a third batch size: the least recently used copy is set up again
    copy = eval_copies_.front().get();
    for (const auto& c : eval_copies_) {
      if (c->used < copy->used) copy = c.get();
    }
  }
  copy->used = ++eval_uses_;
  // The BN running statistics are the training layers' (the first setup made them; checkpoint loads and BN
  // recalibration write into them in place): view them again before each use, before the copy's setup keeps them.
  std::vector<NamedBuffer> mine, theirs;
  root_->collect_buffers(mine);
  copy->root->collect_buffers(theirs);
  SQ_CHECK(mine.size() == theirs.size(),
           "Model: the evaluation network has " << theirs.size() << " buffers, the model " << mine.size());
  for (std::size_t i = 0; i < mine.size(); ++i) {
    *theirs[i].tensor = mine[i].tensor->view(0, mine[i].tensor->shape());
  }
  if (copy->batch != batch) {
    const bool was_forward_only = ctx.forward_only;
    ctx.forward_only = true;
    copy->batch = 0;
    try {
      copy->root->setup({batch, spec_.in_channels, spec_.image_size, spec_.image_size}, ctx);
      copy->loss.setup(batch, spec_.classes, ctx);
    } catch (...) {
      ctx.forward_only = was_forward_only;
      throw;
    }
    ctx.forward_only = was_forward_only;
    copy->batch = batch;
    ++eval_setups_;
    wait_for_device(device_);
  }
  return {copy->root.get(), &copy->loss};
}

void Model::reset_running_stats() {
  use_device(device_);
  const auto reset = [](Module& m) {
    if (auto* bn = dynamic_cast<BatchNorm*>(&m)) bn->reset_running_stats();
  };
  for_each_module(*root_, reset);
  wait_for_device(device_);
}

std::vector<NamedBuffer> Model::buffers() {
  std::vector<NamedBuffer> out;
  root_->collect_buffers(out);
  return out;
}

ModelSize Model::size() const {
  ModelSize s;
  s.bits = sq_ ? quantized_bits(*sq_) : 32;
  for (const Parameter* p : arena_.parameters()) {
    const std::int64_t n = shape_numel(p->shape);
    s.params += n;
    s.fp32_bytes += 4 * n;
    if (p->quantized) {
      s.quantized_params += n;
      s.quantized_rows += p->rows();
      s.packed_bytes += p->rows() * ((p->cols() * s.bits + 7) / 8) + 4 * p->rows();
    } else {
      s.packed_bytes += 4 * n;
    }
  }
  return s;
}

namespace {
std::string per_sample(const Shape& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}
std::string mib(std::int64_t bytes) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(3) << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB";
  return o.str();
}
std::string weights_name(const std::optional<quant::SqOptions>& sq) {
  if (!sq) return "FWN (full precision)";
  std::ostringstream o;
  o << (sq->ratio < 1.0 ? "SQ-" : "") << quant::to_string(sq->quantizer);
  if (sq->quantizer == quant::Quantizer::kbit) o << " " << sq->bits << "-bit";
  if (sq->ratio < 1.0)
    o << ", ratio " << sq->ratio << ", " << quant::to_string(sq->probability) << " / " << quant::to_string(sq->sampler);
  return o.str();
}
}  // namespace

std::string Model::summary() const {
  std::ostringstream o;
  o << "Model " << spec_.arch << ": input " << spec_.in_channels << "x" << spec_.image_size << "x" << spec_.image_size
    << ", " << spec_.classes << " classes, weights " << weights_name(sq_) << ", on " << device_.str() << "\n";
  o << std::left << std::setw(4) << "#" << std::setw(18) << "layer" << std::setw(14) << "type" << std::setw(14)
    << "output" << std::right << std::setw(10) << "params"
    << "  " << std::left << "quantized / details\n";
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const LayerInfo& l = layers_[i];
    std::string q;
    if (l.params > 0) q = l.quantized_params > 0 ? "yes (" + std::to_string(l.quantized_rows) + " rows)" : "no";
    o << std::left << std::setw(4) << i << std::setw(18) << (l.name.empty() ? "-" : l.name) << std::setw(14) << l.type
      << std::setw(14) << per_sample(l.output) << std::right << std::setw(10) << l.params << "  " << std::left << q
      << (q.empty() ? "" : "; ") << l.description << "\n";
  }
  const ModelSize s = size();
  o << "parameters: " << s.params << " (" << s.quantized_params << " quantized, in " << s.quantized_rows << " rows)\n";
  o << "size: fp32 " << mib(s.fp32_bytes);
  if (sq_) {
    o << "; packed " << s.bits << "-bit weights + fp32 row scales + fp32 others " << mib(s.packed_bytes) << " ("
      << std::setprecision(1) << std::fixed << static_cast<double>(s.fp32_bytes) / static_cast<double>(s.packed_bytes)
      << "x smaller)";
  }
  o << "\n";
  return o.str();
}

std::unique_ptr<Model> build_model(const ModelSpec& spec, const std::optional<quant::SqOptions>& sq,
                                   ExecutionContext& ctx, std::uint64_t seed) {
  spec.validate();
  const bool quantize = sq.has_value();
  return std::make_unique<Model>(spec, build_architecture(spec, quantize), sq, ctx, seed,
                                 [spec, quantize] { return build_architecture(spec, quantize); });
}

}  // namespace sq::nn
