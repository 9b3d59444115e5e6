// train_cifar's command line (CLI11): every RunConfig field as an option that overrides the base configuration.
#include <CLI/CLI.hpp>
#include <charconv>
#include <limits>
#include <memory>
#include <sstream>
#include <type_traits>

#include "sq/train/run_config.hpp"
#include "sq/version.hpp"

namespace sq::train {
namespace {

using Apply = std::function<void(RunConfig&)>;

// An option and how to copy its parsed value into a configuration (used only when the option was given).
struct Bound {
  CLI::Option* option;
  Apply assign;
};

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

std::string default_text(const std::string& v) {
  return v.empty() ? "\"\"" : v;
}
std::string default_text(bool v) {
  return v ? "true" : "false";
}
template <class T>
std::string default_text(const std::vector<T>& v) {
  std::ostringstream out;
  for (std::size_t i = 0; i < v.size(); ++i) out << (i ? "," : "") << v[i];
  return out.str();
}
template <class T>
std::string default_text(const T& v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

template <class T>
struct Element {
  using type = T;
};
template <class T>
struct Element<std::vector<T>> {
  using type = T;
};

// CLI11 reads "-1" into an unsigned field as 2^64 - 1 and clamps out-of-range text to the type's limit: this check
// runs on the text first and accepts only an integer that fits T exactly (the meaning's range is validate()'s).
template <class T>
CLI::Validator exact_integer() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        T value{};
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (error == std::errc() && stop == end) return {};
        std::ostringstream out;
        out << "'" << text.substr(0, 40) << "' is not an integer in [" << +std::numeric_limits<T>::min() << ", "
            << +std::numeric_limits<T>::max() << "]";
        return out.str();
      },
      "INT");
}

// Binds `flags` to a private copy of the field (so the program can tell whether it was given) and records how to
// copy it into whatever configuration the program settles on.
class Binder {
 public:
  Binder(CLI::App& app, std::vector<Bound>& bound) : app_(app), bound_(bound) {}

  template <class Field>
  CLI::Option* option(const std::string& flags, Field field, const std::string& help) {
    using T = std::remove_reference_t<decltype(field(std::declval<RunConfig&>()))>;
    RunConfig defaults;
    auto value = std::make_shared<T>(field(defaults));
    CLI::Option* opt = app_.add_option(flags, *value, help)->default_str(default_text(*value));
    using E = typename Element<T>::type;
    if constexpr (std::is_integral<E>::value && !std::is_same<E, bool>::value) opt->check(exact_integer<E>());
    if constexpr (IsVector<T>::value) {
      opt->delimiter(',');
    } else {
      opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later override wins, as in scripts
    }
    bound_.push_back({opt, [value, field](RunConfig& c) { field(c) = *value; }});
    return opt;
  }

  // A bool field set to true by a bare flag (--allow-any-stages), for switches that are off unless asked for.
  CLI::Option* flag(const std::string& flags, bool& (*field)(RunConfig&), const std::string& help) {
    auto value = std::make_shared<bool>(false);
    CLI::Option* opt = app_.add_flag(flags, *value, help);
    bound_.push_back({opt, [value, field](RunConfig& c) { field(c) = *value; }});
    return opt;
  }

 private:
  CLI::App& app_;
  std::vector<Bound>& bound_;
};

const char* kFooter = R"(
Configuration: --config FILE.json gives the base configuration (configs/ holds the paper's experiments); every
option above overrides one of its keys (sections model, data, quant, optim, run; see --print-config for the full
JSON). Without --config, the defaults above apply. With --resume and no --config, the checkpoint's own
configuration is the base, so `train_cifar --resume runs/x/last.safetensors` continues run x.

Methods (--method sets quantizer and stages; --quantizer/--stages given too refine it):
  fwn       full-precision weights (no quantization)       bwn / twn   binary / ternary, one stage at r = 1
  sq-bwn    stochastic quantization with BWN, stages 0.5,0.75,0.875,1.0 (SQ_SPEC section 7)
  sq-twn    the same with TWN (the paper's best CIFAR-10 result)
Each stage is a full training run (schedule and momentum restart) initialised from the previous stage
(--stage-schedule continue: one schedule over all stages instead). SQ stage
lists must be non-decreasing and end at 1 unless --allow-any-stages is given.

Resuming: --resume continues the run with the checkpoint's configuration; options that change what the run is
(lr, iterations, schedule, batch, data, output, ...) are refused, listed, unless --allow-config-change.

Outputs in --output (default runs/<name>): metrics.jsonl (render with scripts/plot_metrics.py), config.json,
checkpoints (last.safetensors, stage<k>.safetensors). One run per folder: a fresh run refuses a folder holding a
run (use --output/--name, --resume, or --overwrite). Ctrl-C or SIGTERM writes a checkpoint and exits (130/143);
--max-steps stops with a checkpoint (75); a NaN/Inf loss stops the run naming the step and keeps the last good
checkpoint (3). --resume cuts metrics.jsonl back to the checkpoint, so the log equals an uninterrupted run's.

Examples:
  train_cifar --config configs/vgg9-sq-twn-cifar10.json
  train_cifar --config configs/quick-sq-twn-fashion-mnist.json --device cpu
  train_cifar --config configs/resnet56-twn-cifar100.json --sampler roulette --probability softmax
  train_cifar --resume runs/vgg9-sq-twn-cifar10/last.safetensors
)";

void build(CLI::App& app, CommandLine& cl, std::vector<Bound>& bound) {
  app.footer(kFooter);
  app.set_version_flag("--version", "train_cifar " + sq::version(), "print the version (git describe) and exit");
  app.add_option("--config", cl.config_file, "JSON configuration file (configs/*.json)")->check(CLI::ExistingFile);
  app.add_option("--resume", cl.resume, "continue a run from this checkpoint (.safetensors)")->check(CLI::ExistingFile);
  app.add_flag("--overwrite", cl.overwrite,
               "start this run over in an output folder that holds a run (deletes its metrics and checkpoints); "
               "without it a fresh run refuses such a folder");
  app.add_flag("--print-config", cl.print_config, "print the final configuration as JSON and exit");
  app.add_flag("--summary", cl.summary_only, "print the model summary (layers, shapes, sizes) and exit");

  Binder b(app, bound);
  b.option(
      "--name", [](RunConfig& c) -> std::string& { return c.name; }, "run name (default output runs/<name>)");

  b.option(
       "--arch", [](RunConfig& c) -> std::string& { return c.model.arch; },
       "network: vgg9, resnet20, resnet32, resnet44, resnet56, resnet110, small_cnn")
      ->group("Model");
  b.option(
       "--quantize-first", [](RunConfig& c) -> bool& { return c.model.quantize_first; },
       "quantize the first conv layer (the paper does); false keeps it full precision")
      ->group("Model");
  b.option(
       "--quantize-last", [](RunConfig& c) -> bool& { return c.model.quantize_last; },
       "quantize the last FC layer (the paper does); false keeps it full precision")
      ->group("Model");
  b.option(
       "--dropout-scale", [](RunConfig& c) -> double& { return c.model.dropout_scale; },
       "multiplies VGG-9's dropout rates (.25 after conv stages, .5 after FC512); 0 disables dropout")
      ->group("Model");
  b.option(
       "--decay-1d", [](RunConfig& c) -> bool& { return c.model.decay_1d; },
       "apply weight decay to BN gamma/beta and biases as well (the paper decays all parameters)")
      ->group("Model");

  b.option(
       "--dataset", [](RunConfig& c) -> std::string& { return c.data.dataset; },
       "cifar10, cifar100, cifar100-coarse (20 superclasses), fashion-mnist (28x28 padded to 32x32), imagenet "
       "(<dir>/train/<wnid>/*.JPEG + <dir>/val) or image-folder (<dir>/train/<class>/*.jpg + <dir>/val/<class>); "
       "docs/IMAGENET.md")
      ->group("Data");
  b.option(
       "--data-dir,--data", [](RunConfig& c) -> std::string& { return c.data.dir; },
       "folder of the data set files; empty: data (CIFAR, where scripts/get-cifar.sh puts it; the "
       "cifar-10-batches-bin / cifar-100-binary subfolder is found too) or /usr/share/datasets/fashion-mnist")
      ->group("Data");
  b.option(
       "--train-limit", [](RunConfig& c) -> std::int64_t& { return c.data.train_limit; },
       "train on the first N training images only (0: all)")
      ->group("Data");
  b.option(
       "--test-limit", [](RunConfig& c) -> std::int64_t& { return c.data.test_limit; },
       "evaluate on the first N test images only (0: all)")
      ->group("Data");
  b.option(
       "--crop", [](RunConfig& c) -> bool& { return c.data.crop; },
       "augmentation: zero-pad and take a random 32x32 crop (a shift of up to 4 pixels)")
      ->group("Data");
  b.option(
       "--flip", [](RunConfig& c) -> bool& { return c.data.flip; }, "augmentation: random horizontal flip")
      ->group("Data");
  b.option(
       "--image-size", [](RunConfig& c) -> int& { return c.data.image_size; },
       "imagenet / image-folder: square input size (224; e.g. 64 for quick CPU runs)")
      ->group("Data");
  b.option(
       "--classes-limit", [](RunConfig& c) -> std::int64_t& { return c.data.classes_limit; },
       "imagenet / image-folder: use the first N classes (sorted folder names) only (0: all)")
      ->group("Data");
  b.option(
       "--on-bad-image", [](RunConfig& c) -> std::string& { return c.data.on_bad_image; },
       "imagenet / image-folder: a file that cannot be decoded is skipped (reported once) or fails the run: "
       "skip or fail")
      ->group("Data");
  b.option(
       "--loader-threads", [](RunConfig& c) -> std::int64_t& { return c.data.loader_threads; },
       "imagenet / image-folder: JPEG decode threads (0: the cores, less one on a GPU); results do not depend on it")
      ->group("Data");
  b.option(
       "--eval-batch", [](RunConfig& c) -> int& { return c.data.eval_batch; }, "batch size of the test-set evaluation")
      ->group("Data");

  // --method sets quantizer and stages: it is applied before the options that refine it, whatever their order
  // on the command line (build() registers it first, and overrides apply in registration order).
  auto method = std::make_shared<std::string>();
  CLI::Option* method_opt =
      app.add_option("--method", *method,
                     "fwn, bwn, twn, sq-bwn, sq-twn (also twn-caffe, twn-channel, kbit, with or without sq-): sets "
                     "--quantizer and --stages")
          ->group("Quantization");
  bound.insert(bound.begin(), {method_opt, [method](RunConfig& c) { c.apply_method(*method); }});
  b.option(
       "--quantizer", [](RunConfig& c) -> std::string& { return c.quant.quantizer; },
       "none (FWN), bwn, twn, twn-caffe (Caffe's threshold), twn-channel (threshold per channel), kbit")
      ->group("Quantization");
  b.option(
       "--bits", [](RunConfig& c) -> int& { return c.quant.bits; }, "bits per weight for kbit (2..8)")
      ->group("Quantization");
  b.option(
       "--probability", [](RunConfig& c) -> std::string& { return c.quant.probability; },
       "selection probability from the quantization error: constant, linear, softmax, sigmoid")
      ->group("Quantization");
  b.option(
       "--sampler", [](RunConfig& c) -> std::string& { return c.quant.sampler; },
       "how the quantized rows are drawn: topk (Gumbel top-k), roulette, sorted, frozen (once per stage), caffe")
      ->group("Quantization");
  b.option(
       "--granularity", [](RunConfig& c) -> std::string& { return c.quant.granularity; },
       "unit of selection: channel (a filter / output row) or element (one weight)")
      ->group("Quantization");
  b.option(
       "--stages", [](RunConfig& c) -> std::vector<double>& { return c.quant.stages; },
       "SQ ratio of each stage, comma separated (e.g. 0.25,0.5,0.75,1)")
      ->group("Quantization");

  b.flag(
       "--allow-any-stages", [](RunConfig& c) -> bool& { return c.quant.allow_any_stages; },
       "accept an SQ stage list that decreases or does not end at 1 (refused otherwise: the headline result is the "
       "fully quantized network of the last stage)")
      ->group("Quantization");

  b.option(
       "--batch", [](RunConfig& c) -> int& { return c.optim.batch; }, "training batch size")
      ->group("Optimiser");
  b.option(
       "--iterations", [](RunConfig& c) -> std::int64_t& { return c.optim.iterations; },
       "iterations per stage (each stage restarts the schedule)")
      ->group("Optimiser");
  b.option(
       "--lr", [](RunConfig& c) -> double& { return c.optim.lr; }, "initial learning rate of every stage")
      ->group("Optimiser");
  b.option(
       "--momentum", [](RunConfig& c) -> double& { return c.optim.momentum; }, "SGD momentum")
      ->group("Optimiser");
  b.option(
       "--weight-decay", [](RunConfig& c) -> double& { return c.optim.weight_decay; }, "L2 weight decay")
      ->group("Optimiser");
  b.option(
       "--schedule", [](RunConfig& c) -> std::string& { return c.optim.schedule; },
       "learning-rate schedule: constant, step (x gamma every step-size), multistep (x gamma at milestones), "
       "cosine (to min-lr over the stage)")
      ->group("Optimiser");
  b.option(
       "--step-size", [](RunConfig& c) -> std::int64_t& { return c.optim.step_size; },
       "step schedule: iterations between decays")
      ->group("Optimiser");
  b.option(
       "--gamma", [](RunConfig& c) -> double& { return c.optim.gamma; }, "decay factor of step/multistep")
      ->group("Optimiser");
  b.option(
       "--milestones", [](RunConfig& c) -> std::vector<std::int64_t>& { return c.optim.milestones; },
       "multistep schedule: iterations of the decays, comma separated (e.g. 32000,48000)")
      ->group("Optimiser");
  b.option(
       "--min-lr", [](RunConfig& c) -> double& { return c.optim.min_lr; }, "cosine schedule: final lr")
      ->group("Optimiser");
  b.option(
       "--warmup-iters", [](RunConfig& c) -> std::int64_t& { return c.optim.warmup_iters; },
       "linear learning-rate warm-up over the first N iterations of each stage (0: none)")
      ->group("Optimiser");
  b.option(
       "--warmup-start", [](RunConfig& c) -> double& { return c.optim.warmup_start; },
       "warm-up starts at this fraction of the scheduled lr")
      ->group("Optimiser");
  b.option(
       "--stage-schedule", [](RunConfig& c) -> std::string& { return c.optim.stage_schedule; },
       "restart: every stage a full schedule from --lr with zeroed momentum (the paper); continue: one schedule "
       "over all stages (iterations x stages steps), momentum kept: only the SQ ratio changes between stages")
      ->group("Optimiser");

  b.option(
       "--seed", [](RunConfig& c) -> std::uint64_t& { return c.run.seed; },
       "run seed: initialisation, data order, augmentation, dropout and SQ draws")
      ->group("Run");
  b.option(
       "--device", [](RunConfig& c) -> std::string& { return c.run.device; },
       "auto (cuda when a GPU is visible), cpu, cuda or cuda:N")
      ->group("Run");
  b.option(
       "--output", [](RunConfig& c) -> std::string& { return c.run.output; },
       "output folder for metrics, config and checkpoints (default runs/<name>)")
      ->group("Run");
  b.option(
       "--log-every", [](RunConfig& c) -> std::int64_t& { return c.run.log_every; },
       "steps between metrics lines and progress updates (reading the loss syncs the GPU)")
      ->group("Run");
  b.option(
       "--checkpoint-every", [](RunConfig& c) -> std::int64_t& { return c.run.checkpoint_every; },
       "steps between checkpoints (0: only at the end of each stage)")
      ->group("Run");
  b.option(
       "--eval-every", [](RunConfig& c) -> std::int64_t& { return c.run.eval_every_epochs; },
       "epochs between test-set evaluations (0: only at the end of each stage)")
      ->group("Run");
  b.option(
       "--eval-seed", [](RunConfig& c) -> std::uint64_t& { return c.run.eval_seed; },
       "seed of the fixed SQ draw used to evaluate the hybrid network at the stage's ratio")
      ->group("Run");
  b.option(
       "--bn-recalibrate-batches", [](RunConfig& c) -> std::int64_t& { return c.run.bn_recalibrate_batches; },
       "training batches over which each evaluation recomputes the BN running statistics for the evaluated "
       "weights (restored afterwards; 0: use the training run's statistics)")
      ->group("Run");
  b.option(
       "--math", [](RunConfig& c) -> std::string& { return c.run.math; },
       "GPU matrix math: tf32 (tensor cores, fast) or fp32 (strict IEEE)")
      ->group("Run");
  b.option(
       "--deterministic", [](RunConfig& c) -> bool& { return c.run.deterministic; },
       "GPU: only deterministic cuDNN algorithms (the CPU path always is)")
      ->group("Run");
  b.option(
       "--cuda-graph", [](RunConfig& c) -> bool& { return c.run.cuda_graph; },
       "GPU: capture the training step as one CUDA graph")
      ->group("Run");
  b.option(
       "--cpu-conv", [](RunConfig& c) -> std::string& { return c.run.cpu_conv; },
       "CPU convolutions and Linear: onednn (fast, the default when built with oneDNN) or reference (im2col + "
       "OpenBLAS, the documented reference)")
      ->group("Run");
  b.option(
       "--threads", [](RunConfig& c) -> std::int64_t& { return c.run.threads; },
       "CPU threads for the whole step (oneDNN, host loops, OpenBLAS, SQ helper); 0: SQ_CPU_THREADS, else the "
       "number of cores")
      ->group("Run");
  b.option(
       "--max-steps", [](RunConfig& c) -> std::int64_t& { return c.run.max_steps; },
       "stop after N steps in this process, writing a checkpoint to resume from (0: run to the end)")
      ->group("Run");
  b.flag(
       "--sync-bn", [](RunConfig& c) -> bool& { return c.run.sync_bn; },
       "data parallelism: synchronised BatchNorm (statistics of the global batch, all-reduced over the ranks), so "
       "N ranks equal one process at the global batch; part of the run (a resume compares it). CPU ranks "
       "(MPI) and GPU ranks (NCCL). Default: each rank's own statistics, as PyTorch DDP")
      ->group("Distributed (mpirun -np N train_cifar ...)");
  b.option(
       "--distributed", [](RunConfig& c) -> std::string& { return c.run.distributed; },
       "auto: data-parallel over MPI when mpirun/srun started more than one rank; on: MPI even for one rank; "
       "off: every process trains alone, ignoring the launcher (per process)")
      ->group("Distributed (mpirun -np N train_cifar ...)");
  b.option(
       "--dist-timeout", [](RunConfig& c) -> double& { return c.run.dist_timeout_s; },
       "seconds a rank waits in one collective for a dead or stuck peer before it ends the job naming the rank "
       "(0: forever; per process)")
      ->group("Distributed (mpirun -np N train_cifar ...)");
  b.option(
       "--replica-check-every", [](RunConfig& c) -> std::int64_t& { return c.run.replica_check_every; },
       "steps between checks that every rank holds the same weights (a hash gathered from every rank; a mismatch "
       "ends the run naming the ranks; 0: never; per process)")
      ->group("Distributed (mpirun -np N train_cifar ...)");
  b.flag(
       "--allow-config-change", [](RunConfig& c) -> bool& { return c.run.allow_config_change; },
       "with --resume: accept options that differ from the checkpoint's configuration (refused otherwise: they "
       "would change the run mid-way); device, math, deterministic, cuda-graph, max-steps, threads, "
       "distributed, dist-timeout and replica-check-every are per process and always free")
      ->group("Run");
  // Testing aid, hidden from --help: poisons one batch so the NaN handling can be exercised end to end.
  b.option(
       "--debug-inject-nan-at-step", [](RunConfig& c) -> std::int64_t& { return c.run.debug_nan_at_step; }, "")
      ->group("");
  b.option(
       "--debug-sigint-at-step", [](RunConfig& c) -> std::int64_t& { return c.run.debug_sigint_at_step; }, "")
      ->group("");
}

}  // namespace

std::string CommandLine::help_text() {
  CLI::App app("train_cifar: train low-bit CNNs with Stochastic Quantization (SQ-CUDA)", "train_cifar");
  CommandLine cl;
  std::vector<Bound> bound;
  build(app, cl, bound);
  return app.help();
}

int CommandLine::parse(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app("train_cifar: train low-bit CNNs with Stochastic Quantization (SQ-CUDA)", "train_cifar");
  std::vector<Bound> bound;
  build(app, *this, bound);
  try {
    app.parse(argc, argv);
    // bwn, twn and fwn are one stage at r = 1 by definition; staged training is the sq- methods.
    const CLI::Option* method = app.get_option("--method");
    if (method->count() > 0 && app.get_option("--stages")->count() > 0 &&
        method->as<std::string>().rfind("sq-", 0) != 0) {
      throw CLI::ValidationError("--stages", "--method " + method->as<std::string>() +
                                                 " has the fixed stage list [1]; use --method sq-" +
                                                 method->as<std::string>() + " for a staged SQ run");
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err);
  }
  // Keep only the options that were given; their values live in the closures, not in the App.
  auto given = std::make_shared<std::vector<Apply>>();
  for (const Bound& b : bound) {
    if (b.option->count() > 0) given->push_back(b.assign);
  }
  apply_overrides = [given](RunConfig& c) {
    for (const Apply& a : *given) a(c);
  };
  return -1;
}

}  // namespace sq::train
