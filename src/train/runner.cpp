// The run loop: data, model and trainer set up once; then stages (SQ ratio, schedule restart, momentum reset),
// epochs, per-epoch evaluation, metrics, checkpoints; resume, NaN/Inf stop, SIGINT/SIGTERM and step-limit exits.
#include "sq/train/runner.hpp"

#include <limits.h>
#include <stdlib.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <optional>

#include "dist/run_world.hpp"
#include "sq/core/cpu_threads.hpp"
#include "sq/core/error.hpp"
#include "sq/data/data.hpp"
#include "sq/dist/replica_check.hpp"
#include "sq/dist/sharding.hpp"
#include "sq/nn/context.hpp"
#include "sq/nn/models.hpp"
#include "sq/quant/pipeline.hpp"
#include "sq/train/progress.hpp"
#include "sq/train/trainer.hpp"
#include "sq/version.hpp"
#include "train/atomic_file.hpp"
#include "train/nvtx_range.hpp"
#include "train/run_data.hpp"
#include "train/run_folder.hpp"
#include "train/runner_state.hpp"
#include "train/runner_support.hpp"

namespace sq::train {

using namespace detail;

std::string to_string(RunStatus status) {
  switch (status) {
    case RunStatus::finished: return "finished";
    case RunStatus::step_limit: return "step_limit";
    case RunStatus::interrupted: return "interrupted";
    case RunStatus::diverged: return "diverged";
  }
  return "?";
}

namespace {

// The folder a data set is read from, as an absolute path when it exists (for the start event).
std::string resolved_path(const std::string& path) {
  char buffer[PATH_MAX];
  return ::realpath(path.c_str(), buffer) != nullptr ? std::string(buffer) : path;
}

// The CPU thread count: the configured one, or on CPU ranks of a distributed run without a user's count their share
// of the node's cores (docs/DISTRIBUTED.md "Cores"), said once by rank 0.
int rank_threads(const RunConfig& config, const dist::RunWorld& world, Device device, std::ostream& out) {
  dist::CoreShare share;
  share.on_cpu = !device.is_cuda();
  share.world_size = world.size();
  share.local_ranks = world.launch.local_size;
  share.configured_threads = config.run.threads;
  const auto set = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0';
  };
  share.threads_from_environment = set("OMP_NUM_THREADS") || set("SQ_CPU_THREADS");
  share.node_cores = node_cpu_cores();
  share.usable_cores = usable_cpu_cores();
  const int threads = dist::rank_cpu_threads(share);
  if (threads == 0) return static_cast<int>(config.run.threads);
  out << "train_cifar: " << share.local_ranks << " CPU ranks on this node share its " << share.node_cores
      << " cores: " << threads << " thread" << (threads == 1 ? "" : "s")
      << " per rank (--threads or OMP_NUM_THREADS to choose)\n";
  return threads;
}

}  // namespace

RunOutcome run_training(const RunConfig& config, const std::string& resume, std::ostream& rank_out, bool interactive,
                        bool overwrite) {
  config.validate("configuration");
  // Data parallelism (docs/DISTRIBUTED.md): under mpirun / srun every rank runs this function; rank 0 alone
  // prints, writes metrics and checkpoints; the ranks agree on every branch that ends or pauses the run.
  dist::WorldSettings world_settings;
  world_settings.mode = config.run.distributed;
  world_settings.timeout_s = config.run.dist_timeout_s;
  world_settings.sync_bn = config.run.sync_bn;
  world_settings.check_every = config.run.replica_check_every;
  dist::RunWorld& world = dist::process_world(world_settings);
  std::ostream& out = world.root() ? rank_out : dist::null_stream();
  // Before anything is written: a resume must not change the run's meaning unless asked to (run_config_resume).
  if (!resume.empty()) {
    for (const ConfigChange& c : check_resume_config(resume, config))
      out << "train_cifar: --allow-config-change: " << c.key << " " << c.saved << " -> " << c.requested << "\n";
  }
  StopSignalGuard signal_guard;
  const double start_s = now_s();

  // ---- the output folder first: a second process, or a fresh run over another run, stops before any work.
  const std::string dir = config.output_dir();
  std::optional<RunFolder> folder;  // rank 0's
  if (world.root()) folder.emplace(dir, config, /*resuming=*/!resume.empty(), overwrite);
  world.any(false);  // the others wait for rank 0's folder checks (an error there ends the job)

  // ---- device, data, model, trainer: everything allocated here, before the first step.
  const Device device = dist::rank_device(world, select_device(config.run.device));
  nn::ExecutionContext ctx = nn::make_context(
      device, config.run.math == "fp32" ? nn::MathMode::fp32 : nn::MathMode::tf32, config.run.deterministic);
  ctx.seed = config.run.seed;
  ctx.cpu_conv = nn::parse_cpu_conv(config.run.cpu_conv);
  set_cpu_threads(rank_threads(config, world, device, out));
  RunData run_data = make_run_data(config, device, ctx.stream);
  data::BatchSource& train_loader = *run_data.train;
  data::BatchSource& test_loader = *run_data.test;
  data::BatchSource& recalibrate_loader = *run_data.recalibrate;
  const std::int64_t recalibrate_batches = config.run.bn_recalibrate_batches;
  if (world.distributed()) {  // the configured batch is the global batch: each rank takes its rows of it
    train_loader.set_shard(world.rank(), world.size());
    recalibrate_loader.set_shard(world.rank(), world.size());
  }

  nn::ModelSpec spec;
  spec.arch = config.model.arch;
  spec.in_channels = run_data.channels;
  spec.classes = run_data.classes;
  spec.image_size = run_data.image_size;
  spec.quantize_first = config.model.quantize_first;
  spec.quantize_last = config.model.quantize_last;
  spec.dropout_scale = static_cast<float>(config.model.dropout_scale);
  spec.decay_1d = config.model.decay_1d;
  std::unique_ptr<nn::Model> model = nn::build_model(spec, sq_options(config), ctx, config.run.seed);
  model->setup(config.optim.batch / world.size(), ctx);
  dist::attach(world, ctx);
  TrainerOptions trainer_options;
  trainer_options.sgd.momentum = static_cast<float>(config.optim.momentum);
  trainer_options.sgd.weight_decay = static_cast<float>(config.optim.weight_decay);
  trainer_options.use_graph = config.run.cuda_graph;
  trainer_options.eval_draw_step = eval_draw_step(config.run.eval_seed);
  trainer_options.gradient_sync = world.sync.get();
  Trainer trainer(*model, ctx, trainer_options);

  const std::string last_path = dir + "/last.safetensors";
  const std::string metrics_path = dir + "/metrics.jsonl";

  detail::RunState state;
  RunOutcome outcome;
  std::int64_t last_checkpoint_step = -1;
  bool resumed_mid_stage = false;
  std::int64_t removed_records = 0;
  if (!resume.empty()) {
    const Checkpoint checkpoint = read_checkpoint(resume);
    state = detail::load_checkpoint_into(checkpoint, resume, config, *model, trainer);
    outcome.last_checkpoint = resume;  // the last good state until this process writes one
    last_checkpoint_step = state.position.global_step;
    if (state.position.stage_complete) {
      state.position.stage += 1;
      state.position.step = 0;
      state.position.stage_complete = false;
      state.epoch = {};
      state.window = {};
      state.best_test_error = kNotMeasured;
    } else {
      resumed_mid_stage = true;
    }
    // Records written after the checkpoint (by a process killed before its next checkpoint) are redone now.
    if (world.root())
      removed_records = truncate_metrics(metrics_path, state.position.global_step, state.epoch_end_pending);
  }
  MetricsWriter metrics(world.root() ? metrics_path : "/dev/null");
  const std::string config_text = saved_config(config).to_json() + "\n";
  if (world.root()) {
    write_file_atomically(dir + "/config.json",
                          [&](int fd) { write_all(fd, config_text.data(), config_text.size(), dir); });
  }
  if (!resume.empty()) {
    metrics.write_event("resume", state.position.global_step,
                        {{"checkpoint", resume},
                         {"removed_records", removed_records},
                         {"version", sq::version()},
                         {"device", device.str()},
                         {"world_size", world.size()}});
  } else {
    metrics.write_event("start", 0,
                        {{"name", config.name},
                         {"method", config.method()},
                         {"device", device.str()},
                         {"seed", config.run.seed},
                         {"version", sq::version()},
                         {"world_size", world.size()},
                         {"data", resolved_path(config.data_dir())},
                         {"output", dir}});
  }

  const int stages = static_cast<int>(config.quant.stages.size());
  const std::int64_t iterations = config.optim.iterations;
  const std::int64_t steps_per_epoch = train_loader.batches_per_epoch();
  const bool check_every_step = device.is_cpu();  // reading the loss is free on the CPU; a sync on a GPU
  out << "train_cifar: " << config.name << " (" << config.method() << ", " << config.model.arch << ", "
      << config.data.dataset << ") on " << describe_device(device)
      << (world.distributed() ? " x " + world.collective->describe() : std::string()) << "\n"
      << "  data: " << run_data.train_size << " training / " << run_data.test_size << " test images, "
      << steps_per_epoch << " steps per epoch; " << stages << " stage(s) of " << iterations << " steps; output " << dir
      << "\n";
  if (!resume.empty()) {
    out << "  resumed from " << resume << " at stage " << state.position.stage + 1 << ", step " << state.position.step
        << " (global step " << state.position.global_step << ")";
    if (removed_records > 0) out << "; " << removed_records << " metrics record(s) after it removed (to be redone)";
    out << "\n";
  }
  out << model->summary() << std::flush;

  outcome.stages = state.stages;
  ProgressReporter progress(out, interactive);
  std::int64_t steps_this_process = 0;

  auto diverged_message = [&](const std::string& what) {
    std::string message = "training diverged at step " + std::to_string(state.position.global_step) + " (stage " +
                          std::to_string(state.position.stage + 1) + ", iteration " +
                          std::to_string(state.position.step) + "): " + what + "; stopped without saving. ";
    message += last_checkpoint_step < 0 ? std::string("This run wrote no checkpoint")
                                        : "The last good checkpoint is " + outcome.last_checkpoint + " (step " +
                                              std::to_string(last_checkpoint_step) + ")";
    return message + "; try a lower --lr or check the data";
  };
  // Writes a checkpoint, unless the state is not finite ("the last good checkpoint" must be good): then returns
  // what is wrong and leaves the files as they were.
  auto save = [&](const std::string& path) -> std::string {
    state.position.epoch = state.position.step / steps_per_epoch;
    Checkpoint checkpoint = detail::make_checkpoint(config, *model, trainer, state);
    const std::string bad = bad_tensor(checkpoint);  // the same on every rank: the weights are replicas
    if (!bad.empty()) return "the state to checkpoint is not finite (" + bad + ")";
    checkpoint.metadata["world_size"] = std::to_string(world.size());
    if (world.root()) write_checkpoint(path, checkpoint);
    world.any(false);  // nobody runs ahead of rank 0's write (its error ends the job)
    outcome.last_checkpoint = path;
    last_checkpoint_step = state.position.global_step;
    return "";
  };
  auto stop = [&](RunStatus status, const std::string& message) {
    progress.break_line();
    outcome.status = status;
    outcome.message = message;
    outcome.global_step = state.position.global_step;
    outcome.stages = state.stages;
    if (status == RunStatus::interrupted) outcome.signal = stop_signal();
    metrics.write_event(to_string(status), outcome.global_step, {{"message", message}});
    return outcome;
  };
  auto interrupted_message = [&]() {
    return "interrupted by " + signal_name(stop_signal()) + " at step " + std::to_string(state.position.global_step) +
           "; resume with --resume " + last_path;
  };

  for (; state.position.stage < stages; ++state.position.stage) {
    detail::RunPosition& pos = state.position;
    const double ratio = config.quant.stages[static_cast<std::size_t>(pos.stage)];
    trainer.set_stage(pos.stage);
    trainer.set_ratio(ratio);
    if (!resumed_mid_stage) {
      // SQ_SPEC section 7: every stage is a full run from the previous stage's weights and momentum restarts;
      // --stage-schedule continue keeps the momentum (and one schedule, RunConfig::schedule_step) across stages.
      if (config.stages_restart() || pos.stage == 0) trainer.reset_optimizer();
      pos.step = 0;
      state.epoch = {};
      state.window = {};
      state.best_test_error = kNotMeasured;
    }
    // A checkpoint written while the end-of-epoch work was interrupted: do that work first.
    bool redo_epoch_end = resumed_mid_stage && state.epoch_end_pending;
    state.epoch_end_pending = false;
    const LrSchedule schedule = config.lr_schedule();
    const double stage_start_s = now_s();
    bool loader_ready = false;
    double log_start_s = now_s();
    std::int64_t log_start_step = pos.step;
    EvalResult last_quantized, last_hybrid;

    while (pos.step < iterations || redo_epoch_end) {
      bool checkpoint_now = false, interrupted = false, step_limit = false;
      if (!redo_epoch_end) {
        const std::int64_t in_epoch = pos.step % steps_per_epoch;
        const data::Batch* batch = nullptr;
        {
          detail::NvtxRange range("data");
          if (in_epoch == 0 || !loader_ready) {
            // The order and augmentation of an epoch depend on (seed, stage, epoch): a resumed run rebuilds the
            // same epoch and skips the batches already trained on.
            const std::int64_t epoch = pos.step / steps_per_epoch;
            train_loader.start_epoch((static_cast<std::uint64_t>(pos.stage) << 32) | static_cast<std::uint64_t>(epoch));
            train_loader.skip_batches(in_epoch);
            loader_ready = true;
          }
          batch = train_loader.next();
          SQ_CHECK(batch != nullptr, "internal: the training loader ran out of batches within an epoch");
          if (pos.global_step == config.run.debug_nan_at_step) poison_with_nan(batch->images, ctx.stream);
        }
        const double lr = schedule.at(config.schedule_step(pos.stage, pos.step));
        trainer.train_step(batch->images, batch->labels, static_cast<float>(lr));
        ++pos.step;
        ++pos.global_step;
        ++steps_this_process;
        if (world.distributed() && world.check_every > 0 && pos.global_step % world.check_every == 0) {
          dist::check_replicas(*world.collective, *model, world.sync_bn, static_cast<std::uint64_t>(pos.global_step));
        }

        const bool log_now = pos.step % config.run.log_every == 0;
        const bool epoch_end = pos.step % steps_per_epoch == 0 || pos.step == iterations;
        checkpoint_now = config.run.checkpoint_every > 0 && pos.global_step % config.run.checkpoint_every == 0;
        if (config.run.debug_sigint_at_step >= 0 && pos.global_step == config.run.debug_sigint_at_step) {
          std::raise(SIGINT);
        }
        interrupted = world.any(stop_requested());
        step_limit = config.run.max_steps > 0 && steps_this_process >= config.run.max_steps;
        if (check_every_step || log_now || epoch_end || checkpoint_now || interrupted || step_limit) {
          double loss = trainer.read_loss();
          std::string bad = divergence(loss, *model, ctx);
          std::int64_t correct = trainer.read_correct();
          if (world.distributed()) {  // the global batch's mean loss and correct count; any rank's divergence
            double sums[3] = {loss, static_cast<double>(correct), bad.empty() ? 0.0 : 1.0};
            world.collective->all_reduce_sum(sums, 3);
            loss = sums[0] / world.size();
            correct = static_cast<std::int64_t>(sums[1]);
            if (bad.empty() && sums[2] > 0) bad = "the loss or weights of another rank are not finite";
          }
          if (!bad.empty()) return stop(RunStatus::diverged, diverged_message(bad));
          state.epoch.add(loss, correct, batch->size * world.size());
          state.window.add(loss, correct, batch->size * world.size());
        }
        if (log_now) {
          const double t = now_s();
          StepMetrics m;
          m.stage = pos.stage;
          m.ratio = ratio;
          m.epoch = (pos.step - 1) / steps_per_epoch;
          m.step = pos.step;
          m.global_step = pos.global_step;
          m.lr = lr;
          m.loss = state.window.mean_loss();
          m.train_error = state.window.error_percent();
          state.window = {};
          m.images_per_s = t > log_start_s ? static_cast<double>((pos.step - log_start_step) * config.optim.batch) /
                                                 (t - log_start_s)
                                           : kNotMeasured;
          m.elapsed_s = t - start_s;
          m.layers = layer_stats(*model, ctx.stream);
          metrics.write(m);
          ProgressState ps;
          ps.stage = pos.stage;
          ps.stages = stages;
          ps.ratio = ratio;
          ps.epoch = m.epoch;
          ps.step = pos.step;
          ps.stage_steps = iterations;
          ps.done = pos.global_step;
          ps.total = static_cast<std::int64_t>(stages) * iterations;
          ps.lr = lr;
          ps.loss = m.loss;
          ps.images_per_s = std::isfinite(m.images_per_s) ? m.images_per_s : 0;
          progress.update(ps, t);
          log_start_s = t;
          log_start_step = pos.step;
        }
        if (!epoch_end) {
          if (checkpoint_now || interrupted || step_limit) {
            const std::string bad = save(last_path);
            if (!bad.empty()) return stop(RunStatus::diverged, diverged_message(bad));
          }
          if (interrupted) return stop(RunStatus::interrupted, interrupted_message());
          if (step_limit) {
            return stop(RunStatus::step_limit, "stopped after --max-steps " + std::to_string(config.run.max_steps) +
                                                   " steps at step " + std::to_string(pos.global_step) +
                                                   "; resume with --resume " + last_path);
          }
          continue;
        }
      }
      redo_epoch_end = false;

      // ---- end of an epoch (pos.step is its last step): evaluation, records, and at the stage's end its
      // checkpoint. A stop signal during the evaluation abandons it; the checkpoint then says to redo this part.
      const std::int64_t epoch = (pos.step - 1) / steps_per_epoch;
      const double lr = schedule.at(config.schedule_step(pos.stage, pos.step - 1));
      const bool stage_end = pos.step == iterations;
      const bool eval_due =
          stage_end || (config.run.eval_every_epochs > 0 && (epoch + 1) % config.run.eval_every_epochs == 0);
      EpochMetrics m;
      m.stage = pos.stage;
      m.ratio = ratio;
      m.epoch = epoch;
      m.step = pos.step;
      m.global_step = pos.global_step;
      m.lr = lr;
      m.train_loss = state.epoch.mean_loss();
      m.train_error = state.epoch.error_percent();
      if (eval_due && !interrupted) {
        // Distributed: each rank evaluates its share of the test batches and the sums are reduced; the BN
        // recalibration is synchronised (global batch statistics), so the error printed is one process's. A stop
        // signal is taken after the pass (the ranks must run the same collectives).
        dist::Collective* eval_world = world.distributed() ? world.collective.get() : nullptr;
        bool (*eval_stop)() = world.distributed() ? nullptr : stop_requested;
        dist::Collective* own_sync_bn = ctx.sync_bn;
        ctx.sync_bn = eval_world != nullptr ? eval_world : own_sync_bn;
        last_quantized = evaluate(trainer, test_loader, EvalWeights::quantized, &recalibrate_loader,
                                  recalibrate_batches, eval_stop, eval_world);
        last_hybrid = model->pipeline() && ratio < 1.0 && !last_quantized.interrupted
                          ? evaluate(trainer, test_loader, EvalWeights::hybrid, &recalibrate_loader,
                                     recalibrate_batches, eval_stop, eval_world)
                          : EvalResult{};
        ctx.sync_bn = own_sync_bn;
        interrupted = world.any(last_quantized.interrupted || last_hybrid.interrupted || stop_requested());
      }
      if (eval_due && interrupted) {
        state.epoch_end_pending = true;
        const std::string bad = save(last_path);
        if (!bad.empty()) return stop(RunStatus::diverged, diverged_message(bad));
        return stop(RunStatus::interrupted, interrupted_message() + " (before the evaluation of stage " +
                                                std::to_string(pos.stage + 1) + " epoch " + std::to_string(epoch + 1) +
                                                ", which the resumed run does first)");
      }
      if (eval_due) {
        m.test_loss = last_quantized.loss;
        m.test_error_quantized = last_quantized.error;
        m.test_error_hybrid = last_hybrid.error;
        m.test_error_top5 = last_quantized.top5_error;
        if (!std::isfinite(state.best_test_error) || last_quantized.error < state.best_test_error) {
          state.best_test_error = last_quantized.error;
        }
        progress.break_line();
        out << "  stage " << pos.stage + 1 << " epoch " << epoch + 1 << ": train loss " << fixed2(m.train_loss)
            << ", train err " << fixed2(m.train_error) << "%, test err " << fixed2(m.test_error_quantized)
            << "% quantized" << (std::isfinite(m.test_error_top5) ? " (top-5 " + fixed2(m.test_error_top5) + "%)" : "")
            << (std::isfinite(m.test_error_hybrid) ? ", " + fixed2(m.test_error_hybrid) + "% hybrid" : "") << "\n"
            << std::flush;
      }
      m.elapsed_s = now_s() - start_s;
      metrics.write(m);
      if (stage_end) {
        StageSummary s;
        s.stage = pos.stage;
        s.ratio = ratio;
        s.steps = iterations;
        s.global_step = pos.global_step;
        s.epochs = (iterations + steps_per_epoch - 1) / steps_per_epoch;
        s.train_loss = m.train_loss;
        s.train_error = m.train_error;
        s.test_error_quantized = last_quantized.error;
        s.test_error_hybrid = last_hybrid.error;
        s.best_test_error_quantized = state.best_test_error;
        s.wall_s = now_s() - stage_start_s;
        state.stages.push_back(s);
        metrics.write(s);
      }
      state.epoch = {};
      log_start_s = now_s();  // images/s measures training, not evaluation
      log_start_step = pos.step;
      if (stage_end) {
        pos.stage_complete = true;
        std::string bad = save(dir + "/stage" + std::to_string(pos.stage + 1) + ".safetensors");
        if (bad.empty()) bad = save(last_path);
        if (!bad.empty()) return stop(RunStatus::diverged, diverged_message(bad));
        pos.stage_complete = false;
      } else if (checkpoint_now || interrupted || step_limit) {
        const std::string bad = save(last_path);
        if (!bad.empty()) return stop(RunStatus::diverged, diverged_message(bad));
      }
      if (interrupted || world.any(stop_requested())) {
        if (!interrupted && !stage_end) {  // arrived after the checks above: the checkpoint is not written yet
          const std::string bad = save(last_path);
          if (!bad.empty()) return stop(RunStatus::diverged, diverged_message(bad));
        }
        if (!stage_end || pos.stage + 1 < stages) return stop(RunStatus::interrupted, interrupted_message());
      }
      if (step_limit && (!stage_end || pos.stage + 1 < stages)) {
        return stop(RunStatus::step_limit, "stopped after --max-steps " + std::to_string(config.run.max_steps) +
                                               " steps at step " + std::to_string(pos.global_step) +
                                               "; resume with --resume " + last_path);
      }
    }
    resumed_mid_stage = false;
  }
  progress.break_line();
  outcome.status = RunStatus::finished;
  outcome.stages = state.stages;
  outcome.global_step = state.position.global_step;
  if (!state.stages.empty()) outcome.final_test_error = state.stages.back().test_error_quantized;
  metrics.write_event("finished", outcome.global_step, {{"final_test_error_quantized", outcome.final_test_error}});
  return outcome;
}

}  // namespace sq::train
