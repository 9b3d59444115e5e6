// The training state a checkpoint holds (weights, BN statistics, SGD momentum, position in the run, partial
// epoch statistics, finished stages) and how it is written from / loaded into a model and trainer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sq/nn/models.hpp"
#include "sq/train/checkpoint.hpp"
#include "sq/train/metrics.hpp"
#include "sq/train/run_config.hpp"
#include "sq/train/trainer.hpp"

namespace sq::train::detail {

// Training statistics of the current epoch, over the steps whose loss was read (every step on the CPU; the
// logged and checkpointed steps on a GPU, where reading the loss waits for the device).
struct EpochStats {
  double loss_sum = 0;
  std::int64_t loss_count = 0;
  std::int64_t correct = 0;
  std::int64_t seen = 0;

  void add(double loss, std::int64_t batch_correct, std::int64_t batch) {
    loss_sum += loss;
    ++loss_count;
    correct += batch_correct;
    seen += batch;
  }
  double mean_loss() const { return loss_count ? loss_sum / static_cast<double>(loss_count) : kNotMeasured; }
  double error_percent() const {
    return seen ? 100.0 * (1.0 - static_cast<double>(correct) / static_cast<double>(seen)) : kNotMeasured;
  }
};

// Where a run is: stage (0-based), steps done in the stage, steps done overall.
struct RunPosition {
  int stage = 0;
  std::int64_t step = 0;
  std::int64_t global_step = 0;
  std::int64_t epoch = 0;       // epochs completed in the stage (for people reading the metadata)
  bool stage_complete = false;  // the checkpoint was written at the end of `stage`
};

struct RunState {
  RunPosition position;
  EpochStats epoch;
  EpochStats window;  // checked steps since the last metrics step line (its mean loss and error)
  // The end-of-epoch work at `position` (evaluation, epoch/stage records, stage checkpoint) was interrupted: a
  // resumed run does it first.
  bool epoch_end_pending = false;
  double best_test_error = kNotMeasured;  // best fully quantized test error of the current stage
  std::vector<StageSummary> stages;       // finished stages
};

// Tensor names in checkpoints: parameters and BN buffers by their model names, momentum as "sgd_momentum.<name>".
inline const char* kMomentumPrefix = "sgd_momentum.";

// The configuration as a run saves it (config.json, checkpoint metadata): without the per-process keys
// (run.max_steps and the debug_* knobs), so a resumed run is not stopped or poisoned again by them.
RunConfig saved_config(const RunConfig& config);

Checkpoint make_checkpoint(const RunConfig& config, nn::Model& model, Trainer& trainer, const RunState& state);
// "" when every f32 tensor is finite and every BN running variance >= 0; otherwise what is wrong, naming the
// tensor (a checkpoint must never hold a diverged state).
std::string bad_tensor(const Checkpoint& checkpoint);
CheckpointExpectation expectation(const RunConfig& config, nn::Model& model);
// Checks compatibility, tensor values (bad_tensor) and the metadata's consistency (naming `path` and the key),
// then copies weights, buffers and momentum into the model and trainer and
// returns the saved state. The model must be set up (its BN buffers exist).
RunState load_checkpoint_into(const Checkpoint& checkpoint, const std::string& path, const RunConfig& config,
                              nn::Model& model, Trainer& trainer);

}  // namespace sq::train::detail
