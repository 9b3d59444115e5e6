// Pieces of the run loop: Ctrl-C flag, output folders, augmentation and SQ options from the config, evaluation
// passes, per-layer SQ statistics and the divergence check.
#include "train/runner_support.hpp"

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "sq/config.hpp"
#include "sq/core/error.hpp"
#include "sq/dist/collective.hpp"
#include "sq/dist/sharding.hpp"
#include "sq/quant/pipeline.hpp"
#include "train/nvtx_range.hpp"

#if SQ_WITH_CUDA
#include <cuda_runtime.h>

#include "sq/core/cuda_check.hpp"
#endif

namespace sq::train::detail {
namespace {

// The handler only records the signal; the loop checkpoints and exits at the end of the current step (or
// abandons the evaluation in progress). A second signal of the same kind (SA_RESETHAND) kills the usual way.
std::atomic<int> g_stop_signal{0};
extern "C" void on_stop_signal(int signal) {
  int none = 0;
  g_stop_signal.compare_exchange_strong(none, signal);
}

bool install(int signal, struct sigaction& previous) {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  return ::sigaction(signal, &action, &previous) == 0;
}

}  // namespace

StopSignalGuard::StopSignalGuard() {
  g_stop_signal.store(0);
  installed_int_ = install(SIGINT, previous_int_);
  installed_term_ = install(SIGTERM, previous_term_);
}

StopSignalGuard::~StopSignalGuard() {
  if (installed_int_) ::sigaction(SIGINT, &previous_int_, nullptr);
  if (installed_term_) ::sigaction(SIGTERM, &previous_term_, nullptr);
}

int stop_signal() {
  return g_stop_signal.load();
}

bool stop_requested() {
  return g_stop_signal.load() != 0;
}

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT (Ctrl-C)";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void make_dirs(const std::string& path) {
  std::string partial;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!partial.empty() && ::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
        SQ_FAIL("cannot create output folder " << partial << ": " << std::strerror(errno));
      }
    }
    if (i < path.size()) partial += path[i];
  }
}

void limit(data::Dataset& set, std::int64_t n) {
  if (n <= 0 || n >= set.size()) return;
  set.images = set.images.view(0, {n, set.channels(), set.height(), set.width()});
  set.labels = set.labels.view(0, {n});
}

data::AugmentOptions train_augmentation(const RunConfig& c, data::DatasetKind kind) {
  if (kind == data::DatasetKind::fashion_mnist) return data::fashion_mnist_augmentation(c.data.crop, c.data.flip);
  data::AugmentOptions a = data::default_augmentation(kind, /*train=*/true);
  a.crop = c.data.crop;
  a.pad = c.data.crop ? a.pad : 0;
  a.flip = c.data.flip;
  return a;
}

std::optional<quant::SqOptions> sq_options(const RunConfig& c) {
  if (c.quant.quantizer == "none") return std::nullopt;
  quant::SqOptions o;
  o.quantizer = quant::parse_quantizer(c.quant.quantizer);
  o.bits = c.quant.bits;
  o.probability = quant::parse_probability(c.quant.probability);
  o.sampler = quant::parse_sampler(c.quant.sampler);
  o.granularity = quant::parse_granularity(c.quant.granularity);
  o.ratio = c.quant.stages.front();
  o.seed = c.run.seed;
  quant::validate(o);
  return o;
}

// The hybrid evaluation draws its selection at a fixed "step" far beyond any training step (< 2^47, the
// pipeline's step range), chosen by the evaluation seed.
std::uint64_t eval_draw_step(std::uint64_t eval_seed) {
  return (std::uint64_t{1} << 46) + eval_seed % (std::uint64_t{1} << 45);
}

EvalResult evaluate(Trainer& trainer, data::BatchSource& test, EvalWeights weights, data::BatchSource* recalibrate,
                    std::int64_t recalibrate_batches, bool (*should_stop)(), dist::Collective* world) {
  detail::NvtxRange range("eval");
  trainer.prepare_eval(weights);
  // The training run's BN running statistics average over many SQ draws (and weights) and match none of them:
  // recompute them for these weights, and put the training ones back after the pass.
  const bool recal = recalibrate != nullptr && recalibrate_batches > 0;
  std::vector<Tensor> saved;
  if (recal) {
    saved = trainer.copy_buffers();
    trainer.recalibrate_bn(*recalibrate, recalibrate_batches);
  }
  EvalResult r;
  test.start_epoch(0);
  double loss_sum = 0;
  std::int64_t correct = 0, correct5 = 0, seen = 0;
  const bool top5 = test.classes() > 5;
  for (std::int64_t index = 0;; ++index) {
    if (world != nullptr && !dist::owns_batch(index, world->size(), world->rank())) {
      if (!test.skip()) break;
      continue;
    }
    const data::Batch* b = test.next();
    if (b == nullptr) break;
    if (should_stop != nullptr && should_stop()) {
      r.interrupted = true;
      break;
    }
    trainer.eval_batch(b->images, b->labels);
    loss_sum += static_cast<double>(trainer.read_loss()) * static_cast<double>(b->size);
    correct += trainer.read_correct();
    if (top5) correct5 += trainer.read_top_k_correct(b->labels, 5);
    seen += b->size;
  }
  if (recal) trainer.restore_buffers(saved);
  if (world != nullptr) {  // exact: integer counts, and the loss sums in double
    double sums[4] = {loss_sum, static_cast<double>(correct), static_cast<double>(seen), static_cast<double>(correct5)};
    world->all_reduce_sum(sums, 4);
    loss_sum = sums[0];
    correct = static_cast<std::int64_t>(sums[1]);
    seen = static_cast<std::int64_t>(sums[2]);
    correct5 = static_cast<std::int64_t>(sums[3]);
  }
  if (seen > 0 && !r.interrupted) {
    r.loss = loss_sum / static_cast<double>(seen);
    r.error = 100.0 * (1.0 - static_cast<double>(correct) / static_cast<double>(seen));
    if (top5) r.top5_error = 100.0 * (1.0 - static_cast<double>(correct5) / static_cast<double>(seen));
  }
  return r;
}

std::vector<LayerSqStats> layer_stats(nn::Model& model, StreamHandle stream) {
  std::vector<LayerSqStats> out;
  quant::SqPipeline* pipeline = model.pipeline();
  if (!pipeline) return out;
  const std::vector<quant::SqLayerStats> stats = pipeline->stats(stream);
  std::vector<std::string> names;
  for (const nn::Parameter* p : model.arena().parameters()) {
    if (p->quantized) names.push_back(p->name);
  }
  for (std::size_t i = 0; i < stats.size(); ++i) {
    const quant::SqLayerStats& s = stats[i];
    out.push_back({i < names.size() ? names[i] : "layer" + std::to_string(i), s.units, s.quantized, s.mean_error,
                   s.mean_error_quantized, s.mean_error_fp});
  }
  return out;
}

// Why the run must stop ("" when it need not): a non-finite loss, or non-finite weights. A NaN can hide from the
// loss (ReLU maps NaN to 0 in the forward pass) while the backward pass has already spread it into the weights:
// on the CPU every master weight is checked; on a GPU the SQ pipeline's flag tells (its own sync point).
std::string divergence(double loss, nn::Model& model, nn::ExecutionContext& ctx) {
  if (!std::isfinite(loss)) return std::string("the loss is ") + (std::isnan(loss) ? "NaN" : "Inf");
  if (model.device().is_cpu()) {
    for (const nn::Parameter* p : model.arena().parameters()) {
      const float* v = p->value.data<float>();
      for (std::int64_t i = 0; i < p->value.numel(); ++i) {
        if (!std::isfinite(v[i])) return "parameter " + p->name + " became NaN or Inf";
      }
    }
    return "";
  }
  if (quant::SqPipeline* pipeline = model.pipeline()) {
    try {
      pipeline->check_finite(ctx.stream);
    } catch (const Error& e) {
      return e.message();
    }
  }
  return "";
}

void poison_with_nan(const Tensor& images, StreamHandle stream) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
#if SQ_WITH_CUDA
  // The batch is built asynchronously on `stream`: let it land before overwriting a pixel.
  if (images.device().is_cuda()) SQ_CUDA_CHECK(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream)));
#else
  (void)stream;
#endif
  copy_bytes(const_cast<void*>(images.raw()), images.device(), &nan, Device::cpu(), sizeof nan);
}

std::string fixed2(double v) {
  if (!std::isfinite(v)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", v);
  return text;
}

}  // namespace sq::train::detail
