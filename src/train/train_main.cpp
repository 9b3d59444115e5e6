// train_cifar's main as a library function: command line -> configuration -> run -> per-stage table, with
// user-facing errors (no stack of file:line) and exit codes a script can act on.
#include <cmath>
#include <fstream>
#include <iomanip>
#include <memory>
#include <optional>
#include <sstream>

#include "dist/run_world.hpp"
#include "sq/core/error.hpp"
#include "sq/nn/context.hpp"
#include "sq/nn/models.hpp"
#include "sq/train/checkpoint.hpp"
#include "sq/train/progress.hpp"
#include "sq/train/runner.hpp"
#include "train/runner_state.hpp"
#include "train/runner_support.hpp"

namespace sq::train {
namespace {

RunConfig base_config(const CommandLine& cl) {
  if (!cl.config_file.empty()) {
    std::ifstream in(cl.config_file);
    SQ_CHECK(in.good(), "cannot open config file " << cl.config_file);
    std::stringstream text;
    text << in.rdbuf();
    return RunConfig::from_json(text.str(), cl.config_file);
  }
  if (!cl.resume.empty()) {
    // The checkpoint carries the configuration it was trained with: resuming needs nothing else.
    const Checkpoint checkpoint = read_checkpoint(cl.resume);
    const auto config = checkpoint.metadata.find(checkpoint_key::kConfig);
    SQ_CHECK(config != checkpoint.metadata.end(),
             cl.resume << " holds no run configuration (metadata 'config'): pass --config FILE as well");
    // Per-process keys (older checkpoints saved --max-steps and the debug knobs) do not carry over.
    return detail::saved_config(RunConfig::from_json(config->second, cl.resume + " (its 'config' metadata)"));
  }
  return RunConfig{};
}

void print_summary_only(const RunConfig& config, std::ostream& out) {
  nn::ModelSpec spec;
  spec.arch = config.model.arch;
  spec.in_channels = config.in_channels();
  spec.classes = config.classes();
  spec.quantize_first = config.model.quantize_first;
  spec.quantize_last = config.model.quantize_last;
  spec.dropout_scale = static_cast<float>(config.model.dropout_scale);
  spec.decay_1d = config.model.decay_1d;
  nn::ExecutionContext ctx = nn::make_context(Device::cpu());
  out << nn::build_model(spec, detail::sq_options(config), ctx, config.run.seed)->summary();
}

}  // namespace

int train_cifar_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CommandLine cl;
  const int parsed = cl.parse(argc, argv, out, err);
  if (parsed >= 0) return parsed == 0 ? 0 : kExitUsage;
  try {
    RunConfig config = base_config(cl);
    cl.apply_overrides(config);
    config.validate(cl.config_file.empty() ? "command line" : cl.config_file + " + command line");
    if (cl.print_config) {
      out << config.to_json() << "\n";
      return 0;
    }
    if (cl.summary_only) {
      print_summary_only(config, out);
      return 0;
    }
    const RunOutcome outcome = run_training(config, cl.resume, out, stdout_is_terminal(), cl.overwrite);
    // Data parallelism: rank 0 alone reports (every rank ran the same run and returns the same status).
    const dist::RunWorld* world = dist::distributed_world_if_any();
    std::ostream& shown = world != nullptr && !world->root() ? dist::null_stream() : out;
    std::ostream& shown_err = world != nullptr && !world->root() ? dist::null_stream() : err;
    if (!outcome.stages.empty()) {
      shown << "\nper-stage summary (" << config.name << ", " << config.method() << "):\n"
            << format_stage_table(outcome.stages);
    }
    switch (outcome.status) {
      case RunStatus::finished:
        shown << "final test error of the fully quantized network: " << std::fixed << std::setprecision(2)
              << outcome.final_test_error << "% (accuracy " << 100.0 - outcome.final_test_error << "%)\n"
              << "metrics: " << config.output_dir() << "/metrics.jsonl (plot: scripts/plot_metrics.py "
              << config.output_dir() << "/metrics.jsonl)\n";
        return kExitFinished;
      case RunStatus::step_limit: shown << outcome.message << "\n"; return kExitStepLimit;
      case RunStatus::interrupted:
        shown_err << "train_cifar: " << outcome.message << "\n";
        return outcome.signal == SIGTERM ? kExitTerminated : kExitInterrupted;
      case RunStatus::diverged: shown_err << "train_cifar: error: " << outcome.message << "\n"; return kExitDiverged;
    }
    return kExitError;
  } catch (const Error& e) {
    // Data parallelism: one rank's error ends the whole job, naming the rank (the others would wait for it).
    if (dist::RunWorld* world = dist::distributed_world_if_any())
      world->collective->abort("train_cifar: error: " + e.message(), kExitError);
    err << "train_cifar: error: " << e.message() << "\n";
    return kExitError;
  } catch (const std::exception& e) {
    if (dist::RunWorld* world = dist::distributed_world_if_any())
      world->collective->abort(std::string("train_cifar: error: ") + e.what(), kExitError);
    err << "train_cifar: error: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace sq::train
