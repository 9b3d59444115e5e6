// A training run's network restored from its checkpoint for evaluation and export: the configuration from the
// checkpoint's metadata, its data (the training set for normalisation and BN recalibration), the model with the
// saved weights, and a Trainer whose evaluation weights are written (and BN recalibrated) as the run did it.
#pragma once

#include <memory>
#include <string>

#include "sq/data/data.hpp"
#include "sq/deploy/evaluate.hpp"
#include "sq/nn/context.hpp"
#include "sq/nn/models.hpp"
#include "sq/train/checkpoint.hpp"
#include "sq/train/run_config.hpp"
#include "sq/train/trainer.hpp"

namespace sq::deploy::detail {

struct RestoredRun {
  std::string path;
  train::Checkpoint checkpoint;
  train::RunConfig config;
  data::DatasetKind kind{};
  data::Dataset train_set;
  data::Normalization normalization;  // from the run's training set, as training computed it
  nn::ExecutionContext ctx;
  std::unique_ptr<nn::Model> model;
  std::unique_ptr<train::Trainer> trainer;
  double ratio = 1;  // SQ ratio of the checkpoint's stage
  std::int64_t bn_recalibrate_batches = 0;
  std::uint64_t eval_seed = 0;
};

// Reads `path`, rebuilds the run's model and loads the weights; nothing is evaluated yet.
std::unique_ptr<RestoredRun> restore_run(const std::string& path, const RestoreOptions& options);

// Writes the evaluation weights and, when asked, recalibrates BN exactly as the training run's evaluation did
// (same loader, seed, batch and count). The caller restores nothing: the restored run is a copy.
void prepare_weights(RestoredRun& run, train::EvalWeights weights);

// The model's config as a ModelSpec for in_channels/classes/image_size of `set`.
nn::ModelSpec model_spec(const train::RunConfig& config, int in_channels, int classes, int image_size);

}  // namespace sq::deploy::detail
