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
  interrupted,  // SIGINT: a checkpoint was written
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
};

// Runs (or, with `resume` set, continues) a training run; writes metrics, config and checkpoints under
// config.output_dir(). Progress and tables go to `out`; `interactive` redraws a progress bar. Throws sq::Error on
// bad data, devices or checkpoints. Installs a SIGINT handler for the duration of the run.
RunOutcome run_training(const RunConfig& config, const std::string& resume, std::ostream& out, bool interactive);

// The whole program: command line, configuration (file, checkpoint or defaults, then overrides), validation,
// the run, the per-stage table. Returns the process exit code: 0 finished or stopped at --max-steps; 1 an error
// (message on `err`); 2 usage error; 3 diverged (NaN/Inf loss); 130 interrupted by Ctrl-C.
int train_cifar_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace sq::train
