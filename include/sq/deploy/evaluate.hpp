// Evaluation of any checkpoint (docs/DEPLOY.md): the network a training run saved, restored with the
// configuration it was trained with, evaluated on any data set folder, limit and batch, with the quantized,
// hybrid or full-precision weights and BN recalibration as in training. Never writes into the run folder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sq/train/trainer.hpp"

namespace sq::deploy {

// What to restore a checkpoint with; empty fields take the value the run was trained with.
struct RestoreOptions {
  std::string dataset;   // "" = the run's data.dataset
  std::string data_dir;  // "" = the run's data.dir (or the dataset's default folder)
  std::string device = "cpu";
  train::EvalWeights weights = train::EvalWeights::quantized;
  std::optional<std::uint64_t> eval_seed;              // hybrid draw; default run.eval_seed
  std::optional<std::int64_t> bn_recalibrate_batches;  // default run.bn_recalibrate_batches; 0 = off
};

struct EvalOptions {
  RestoreOptions restore;
  std::optional<std::int64_t> limit;  // first N test images; default the run's data.test_limit; 0 = all
  int batch = 0;                      // 0 = the run's data.eval_batch
};

struct EvalReport {
  std::string checkpoint, arch, method, dataset, weights;
  std::int64_t images = 0;
  double loss = 0, error = 0;  // mean loss, top-1 error in %
  std::vector<std::int64_t> class_images, class_correct;
  std::int64_t bn_recalibrate_batches = 0;
  std::uint64_t eval_seed = 0;
  double sq_ratio = 1;  // the ratio a hybrid evaluation uses: the checkpoint's stage's

  double class_accuracy(std::size_t c) const;  // %, NaN when the class has no image
  std::string to_json() const;
  std::string to_text() const;  // loss, error and the per-class table
};

// Throws sq::Error naming the file and field for an unreadable or incompatible checkpoint.
EvalReport evaluate_checkpoint(const std::string& checkpoint, const EvalOptions& options);

// sq_eval's main: command line -> report on `out` (+ JSON file with --json); exit codes as train_cifar's.
int eval_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace sq::deploy
