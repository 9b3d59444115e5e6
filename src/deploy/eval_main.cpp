// sq_eval: evaluation of any checkpoint (docs/DEPLOY.md). Reads the checkpoint, never writes next to it.
#include <fstream>

#include "deploy/cli_util.hpp"
#include "sq/deploy/evaluate.hpp"
#include "train/atomic_file.hpp"

namespace sq::deploy {

int eval_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app(
      "sq_eval: evaluate a training checkpoint (.safetensors) on a test set, with the configuration it was trained "
      "with; prints loss, error and per-class accuracy; never changes the run folder",
      "sq_eval");
  std::string checkpoint, json_path, weights = "quantized";
  EvalOptions options;
  std::int64_t limit = -1, recalibrate = -1;
  std::uint64_t eval_seed = 0;
  app.add_option("checkpoint", checkpoint, "checkpoint written by train_cifar (stageN/last.safetensors)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--dataset", options.restore.dataset,
                 "data set (default: the run's): cifar10, cifar100, "
                 "cifar100-coarse, fashion-mnist");
  app.add_option("--data", options.restore.data_dir, "data set folder (default: the run's data.dir or default)");
  app.add_option("--limit", limit, "evaluate on the first N test images (default: the run's test_limit; 0 = all)");
  app.add_option("--batch", options.batch, "evaluation batch (default: the run's data.eval_batch)");
  app.add_option("--weights", weights,
                 "quantized (r = 1, the headline), hybrid (the checkpoint's ratio, fixed "
                 "draw) or full-precision")
      ->check(CLI::IsMember({"quantized", "hybrid", "full-precision"}));
  CLI::Option* seed_opt = app.add_option("--eval-seed", eval_seed, "hybrid draw seed (default: the run's eval_seed)");
  app.add_option("--bn-recalibrate-batches", recalibrate,
                 "recompute BN statistics over N training batches first, as training's evaluation does (default: "
                 "the run's; 0 = use the checkpoint's statistics)");
  app.add_option("--device", options.restore.device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  app.add_option("--json", json_path, "also write the result as JSON to this file");
  const int parsed = detail::parse_command_line(app, argc, argv, out, err);
  if (parsed >= 0) return parsed;
  return detail::run_reporting_errors("sq_eval", err, [&] {
    options.restore.weights = train::parse_eval_weights(weights);
    if (limit >= 0) options.limit = limit;
    if (recalibrate >= 0) options.restore.bn_recalibrate_batches = recalibrate;
    if (seed_opt->count() > 0) options.restore.eval_seed = eval_seed;
    SQ_CHECK(options.batch >= 0, "--batch must be positive, got " << options.batch);
    const EvalReport report = evaluate_checkpoint(checkpoint, options);
    out << report.to_text();
    if (!json_path.empty()) {
      const std::string text = report.to_json() + "\n";
      train::write_file_atomically(json_path,
                                   [&](int fd) { train::write_all(fd, text.data(), text.size(), json_path); });
      out << "result: " << json_path << "\n";
    }
    return detail::kExitOk;
  });
}

}  // namespace sq::deploy
