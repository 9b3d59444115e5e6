// Pieces of the run loop (src/train/runner.cpp): Ctrl-C flag, output folders, augmentation and SQ options from
// the config, evaluation passes, per-layer SQ statistics and the divergence check.
#pragma once

#include <signal.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sq/data/data.hpp"
#include "sq/nn/models.hpp"
#include "sq/quant/options.hpp"
#include "sq/train/metrics.hpp"
#include "sq/train/run_config.hpp"
#include "sq/train/trainer.hpp"

namespace sq::dist {
class Collective;
}

namespace sq::train::detail {

// Installs SIGINT (Ctrl-C) and SIGTERM (cluster preemption: SLURM, Kubernetes) handlers that only record the
// signal (see stop_signal); restores the previous ones. A second signal of the same kind kills the usual way.
class StopSignalGuard {
 public:
  StopSignalGuard();
  ~StopSignalGuard();
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;

 private:
  struct sigaction previous_int_ {
  }, previous_term_{};
  bool installed_int_ = false, installed_term_ = false;
};
int stop_signal();                    // 0, or the first stop signal received (SIGINT or SIGTERM)
bool stop_requested();                // stop_signal() != 0
std::string signal_name(int signal);  // "SIGINT (Ctrl-C)", "SIGTERM"

double now_s();                                  // monotonic seconds
void make_dirs(const std::string& path);         // mkdir -p; sq::Error naming the folder on failure
void limit(data::Dataset& set, std::int64_t n);  // keep the first n samples (n <= 0: all)
data::AugmentOptions train_augmentation(const RunConfig& config, data::DatasetKind kind);
std::optional<quant::SqOptions> sq_options(const RunConfig& config);  // empty for FWN
std::uint64_t eval_draw_step(std::uint64_t eval_seed);
// Seed offset of the BN recalibration loader (run seed + this); sq_eval and sq_export recalibrate with it too.
inline constexpr std::uint64_t kBnRecalibrationSeed = 0x626e63616c;  // "bncal"

struct EvalResult {
  double loss = kNotMeasured;
  double error = kNotMeasured;       // %
  double top5_error = kNotMeasured;  // %, when the model has more than 5 classes
  bool interrupted = false;          // `should_stop` said so: the pass was abandoned, loss and error are not measured
};
// One pass over the test loader with the given weights (waits for the device once per batch). With `recalibrate`
// and recalibrate_batches > 0 the BN running statistics are first recomputed for these weights over that many
// batches of it (Trainer::recalibrate_bn) and restored after the pass, so training is left bit-for-bit as it was.
// `should_stop` (when given) is asked before every batch: a stop request abandons the pass (interrupted).
// `world` (data parallelism): this rank evaluates batches rank, rank + N, ... and the sums are all-reduced.
EvalResult evaluate(Trainer& trainer, data::BatchSource& test, EvalWeights weights,
                    data::BatchSource* recalibrate = nullptr, std::int64_t recalibrate_batches = 0,
                    bool (*should_stop)() = nullptr, dist::Collective* world = nullptr);

// SQ statistics of the last pipeline run, named after the quantized parameters (syncs; empty for FWN).
std::vector<LayerSqStats> layer_stats(nn::Model& model, StreamHandle stream);

// Why the run must stop ("" when it need not): a non-finite loss or non-finite weights.
std::string divergence(double loss, nn::Model& model, nn::ExecutionContext& ctx);

void poison_with_nan(const Tensor& images, StreamHandle stream);  // testing: the first pixel of the batch becomes NaN
std::string fixed2(double v);                                     // "12.34", "-" when not finite

}  // namespace sq::train::detail
