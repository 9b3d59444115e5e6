// RunConfig: everything that defines a training run (model, data, SQ method and stages, optimiser, run
// settings), read from a JSON file (configs/*.json), overridden from the command line, validated with messages
// that name the file, key and accepted values.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sq/config.hpp"
#include "sq/train/schedule.hpp"

namespace sq::train {

struct ModelConfig {
  std::string arch = "vgg9";  // vgg9, resnet20/32/44/56/110, small_cnn
  bool quantize_first = true;
  bool quantize_last = true;
  double dropout_scale = 1.0;  // multiplies VGG-9's dropout rates; 0 disables dropout
  bool decay_1d = true;        // weight decay on BN gamma/beta and biases too (the paper decays everything)
};

struct DataConfig {
  std::string dataset = "cifar10";  // cifar10, cifar100, cifar100-coarse, fashion-mnist
  std::string dir;                  // "" = the dataset's default folder (see default_data_dir)
  std::int64_t train_limit = 0;     // use the first N training images (0: all)
  std::int64_t test_limit = 0;      // evaluate on the first N test images (0: all)
  bool crop = true;                 // pad + random 32x32 crop
  bool flip = true;                 // random horizontal flip
  int eval_batch = 200;
  // imagenet / image-folder only (docs/IMAGENET.md): the square input size (224; smaller for quick runs), the
  // first N classes (0: all), what to do with a file that does not decode (skip or fail), and the decode threads
  // (per process: results do not depend on them; 0: the cores, less one on a GPU).
  int image_size = 224;
  std::int64_t classes_limit = 0;
  std::string on_bad_image = "skip";
  std::int64_t loader_threads = 0;
};

struct QuantConfig {
  std::string quantizer = "twn";  // none (FWN), bwn, twn, twn-caffe, twn-channel, kbit
  int bits = 2;                   // kbit only
  std::string probability = "linear";
  std::string sampler = "topk";
  std::string granularity = "channel";
  std::vector<double> stages = {0.5, 0.75, 0.875, 1.0};  // SQ ratio per stage (SQ_SPEC section 7)
  // SQ stage lists must be non-decreasing and end at 1 (the headline result is the fully quantized network);
  // true accepts any list of ratios in (0, 1] (--allow-any-stages).
  bool allow_any_stages = false;
};

struct OptimConfig {
  int batch = 100;
  std::int64_t iterations = 100000;  // per stage: every stage restarts the schedule
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 1e-4;
  std::string schedule = "step";  // constant, step, multistep, cosine
  std::int64_t step_size = 15000;
  double gamma = 0.1;
  std::vector<std::int64_t> milestones;
  double min_lr = 0.0;
  std::int64_t warmup_iters = 0;
  double warmup_start = 0.0;
  // How SQ stages follow each other: "restart" (the paper, SQ_SPEC section 7): every stage is a full schedule of
  // `iterations` steps from lr with zeroed momentum; "continue": one schedule over all stages' steps (step_size,
  // milestones and warm-up count global steps), momentum kept, only the SQ ratio changes at a stage boundary.
  std::string stage_schedule = "restart";
};

struct RunSettings {
  std::uint64_t seed = 1;
  std::string device = "auto";  // auto, cpu, cuda, cuda:N
  std::string output;           // "" = runs/<name>
  std::int64_t log_every = 100;
  std::int64_t checkpoint_every = 5000;  // steps; 0: only at the end of each stage
  std::int64_t eval_every_epochs = 1;
  std::uint64_t eval_seed = 20170904;  // fixed draw for the hybrid evaluation
  // Training batches over which each evaluation recomputes the BN running statistics for its weights (restored
  // after it); 0: evaluate with the training run's running statistics.
  std::int64_t bn_recalibrate_batches = 32;
  std::string math = "tf32";  // GPU matrix math: tf32 or fp32
  bool deterministic = false;
  bool cuda_graph = true;
  // CPU: convolution / Linear backend, "onednn" (fast, the default in builds with oneDNN) or "reference" (im2col +
  // OpenBLAS); and the thread count of the whole CPU path (0: SQ_CPU_THREADS, else the number of cores). Results are
  // deterministic for a given backend and thread count; a resume continues bit for bit with the same pair.
  std::string cpu_conv = SQ_WITH_ONEDNN ? "onednn" : "reference";
  std::int64_t threads = 0;
  std::int64_t max_steps = 0;  // stop (with a checkpoint) after this many steps in this process; 0: no limit
  // Data parallelism under mpirun / srun (docs/DISTRIBUTED.md). sync_bn is part of the run (BN statistics of the
  // global batch instead of each rank's: other numbers); the other three are per process.
  bool sync_bn = false;
  std::string distributed = "auto";        // auto (MPI when a launcher started N > 1 ranks), on (MPI always), off
  double dist_timeout_s = 300;             // longest wait in one collective before the job ends (0: forever)
  std::int64_t replica_check_every = 100;  // steps between cross-rank weight hash checks (0: never)
  std::int64_t debug_nan_at_step = -1;     // testing: poison the batch of this global step with NaN
  std::int64_t debug_sigint_at_step = -1;  // testing: raise SIGINT after this global step
  // Per process, never saved: --resume with keys that differ from the checkpoint's configuration is refused
  // unless this is set (--allow-config-change).
  bool allow_config_change = false;
};

struct RunConfig {
  std::string name = "run";
  ModelConfig model;
  DataConfig data;
  QuantConfig quant;
  OptimConfig optim;
  RunSettings run;

  // "fwn", "bwn", "twn", "sq-bwn", "sq-twn", ... derived from quantizer and stages.
  std::string method() const;
  // Sets quantizer and stages for a named method: fwn, bwn, twn, sq-bwn, sq-twn, (sq-)twn-caffe, (sq-)kbit, ...
  void apply_method(const std::string& method);

  // Throws sq::Error listing every problem found, prefixed by `source` (a file name or "command line").
  void validate(const std::string& source = "configuration") const;

  LrSchedule lr_schedule() const;
  // The step of lr_schedule() that step `step` of stage `stage` takes its learning rate from.
  std::int64_t schedule_step(std::int64_t stage, std::int64_t step) const;
  bool stages_restart() const { return optim.stage_schedule == "restart"; }
  std::string output_dir() const;  // run.output or runs/<name>
  std::string data_dir() const;    // data.dir or the dataset's default
  int classes() const;             // 10, 100 or 20 (cifar100-coarse)
  int in_channels() const;         // 3 (CIFAR) or 1 (Fashion-MNIST)

  // Metadata a checkpoint must match to be loaded by this run (arch, classes, quantizer, ...).
  std::map<std::string, std::string> identity() const;

  // per_process = false writes per_process_keys() with their defaults: the configuration a checkpoint saves.
  std::string to_json(int indent = 2, bool per_process = true) const;
  // Parses a JSON document; unknown keys and wrong types are errors naming `source` and the key.
  static RunConfig from_json(const std::string& text, const std::string& source);
};

// Keys that say how this process runs, not what the run is (device, math mode, logging, step limit, evaluation
// batch): a checkpoint saves their defaults, never this process's values; free to differ on --resume.
const std::vector<std::string>& per_process_keys();

// One key whose value differs between a checkpoint's saved configuration and the one a resume asks for.
struct ConfigChange {
  std::string key;  // "optim.lr"
  std::string saved, requested;
};
// Every key (outside per_process_keys()) whose value differs; empty when the run's meaning is unchanged.
std::vector<ConfigChange> config_changes(const RunConfig& saved, const RunConfig& requested);

// At a resume: the checkpoint at `path` holds the configuration it was trained with. Throws sq::Error listing
// every change unless requested.run.allow_config_change; returns the accepted changes (for the log).
std::vector<ConfigChange> check_resume_config(const std::string& path, const RunConfig& requested);

std::string default_data_dir(const std::string& dataset);
const std::vector<std::string>& known_datasets();
const std::vector<std::string>& known_methods();

// Reads and validates a config file.
RunConfig load_run_config(const std::string& path);

// The command line of train_cifar. parse() fills the fields below; the overrides are applied to whatever base
// configuration the program settles on (the --config file, the --resume checkpoint's config, or defaults).
struct CommandLine {
  std::string config_file;
  std::string resume;
  bool overwrite = false;     // a fresh run may replace the run in its output folder
  bool print_config = false;  // print the final configuration as JSON and exit
  bool summary_only = false;  // print the model summary and exit
  std::function<void(RunConfig&)> apply_overrides;

  // Returns -1 to continue; otherwise the program should exit with that code (after --help, or on a usage
  // error, with the text already written to `out` / `err`).
  int parse(int argc, const char* const* argv, std::ostream& out, std::ostream& err);
  static std::string help_text();
};

}  // namespace sq::train
