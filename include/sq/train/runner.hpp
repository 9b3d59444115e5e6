// The training run of apps/train_cifar: SQ stages, epochs, evaluation, metrics, checkpoints, resume, NaN stop
// and Ctrl-C, as library functions so the tests drive the same code the program runs.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "sq/train/metrics.hpp"
#include "sq/train/run_config.hpp"

namespace sq::train {

enum class RunStatus {
  finished,     // every stage done
  step_limit,   // run.max_steps reached: a checkpoint was written to resume from
  interrupted,  // SIGINT or SIGTERM: a checkpoint was written
  diverged,     // the loss became NaN/Inf: stopped, the last good checkpoint kept
};
std::string to_string(RunStatus status);

struct RunOutcome {
  RunStatus status = RunStatus::finished;
  std::vector<StageSummary> stages;        // completed (or current, when stopped) stages
  double final_test_error = kNotMeasured;  // fully quantized network's test error (%) after the last stage
  std::int64_t global_step = 0;            // steps done over the whole run
  std::string last_checkpoint;             // path of the newest checkpoint ("" when none was written)
  std::string message;                     // why the run stopped early
  int signal = 0;                          // interrupted: the signal (SIGINT or SIGTERM)
};

// train_cifar's exit codes (apps/train_cifar/README.md).
inline constexpr int kExitFinished = 0;
inline constexpr int kExitError = 1;          // bad config, data, checkpoint or output folder
inline constexpr int kExitUsage = 2;          // bad command line
inline constexpr int kExitDiverged = 3;       // NaN/Inf loss or weights
inline constexpr int kExitStepLimit = 75;     // stopped at --max-steps with a checkpoint: resume to continue
inline constexpr int kExitInterrupted = 130;  // SIGINT (128 + 2) with a checkpoint: resume to continue
inline constexpr int kExitTerminated = 143;   // SIGTERM (128 + 15) with a checkpoint: resume to continue

// Runs (or, with `resume` set, continues) a training run; writes metrics, config and checkpoints under
// config.output_dir(), which it locks for the duration. A fresh run refuses a folder that holds a run unless
// `overwrite` (which deletes that run's files). Progress and tables go to `out`; `interactive` redraws a progress
// bar. Throws sq::Error on bad data, devices, checkpoints or output folders. Installs SIGINT and SIGTERM
// handlers for the duration of the run.
RunOutcome run_training(const RunConfig& config, const std::string& resume, std::ostream& out, bool interactive,
                        bool overwrite = false);

// The whole program: command line, configuration (file, checkpoint or defaults, then overrides), validation,
// the run, the per-stage table. Returns the process exit code (kExit* above; errors go to `err`).
int train_cifar_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace sq::train
