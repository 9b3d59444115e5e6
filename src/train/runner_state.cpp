// Training state <-> checkpoint: every tensor that decides the next step, and the position and statistics that
// make a resumed run continue (and report) exactly like the uninterrupted one.
#include "train/runner_state.hpp"

#include <cmath>

#include "sq/core/error.hpp"
#include "train/json_parse.hpp"

namespace sq::train::detail {
namespace {

// Element offset of a parameter inside the arena (its views share the arena's storage).
std::int64_t arena_offset(const nn::Parameter& p, nn::ParameterArena& arena) {
  const auto* base = static_cast<const char*>(arena.values().raw());
  const auto* at = static_cast<const char*>(p.value.raw());
  return static_cast<std::int64_t>((at - base) / static_cast<std::ptrdiff_t>(sizeof(float)));
}

Json number(double v) {
  return std::isfinite(v) ? Json(v) : Json(nullptr);
}
double number(const Json& j) {
  return j.is_number() ? j.get<double>() : kNotMeasured;
}

std::string stages_json(const std::vector<StageSummary>& stages) {
  Json out = Json::array();
  for (const StageSummary& s : stages) {
    out.push_back({{"stage", s.stage},
                   {"ratio", s.ratio},
                   {"steps", s.steps},
                   {"global_step", s.global_step},
                   {"epochs", s.epochs},
                   {"train_loss", number(s.train_loss)},
                   {"train_error", number(s.train_error)},
                   {"test_error_quantized", number(s.test_error_quantized)},
                   {"test_error_hybrid", number(s.test_error_hybrid)},
                   {"best_test_error_quantized", number(s.best_test_error_quantized)},
                   {"wall_s", s.wall_s}});
  }
  return out.dump();
}

std::vector<StageSummary> parse_stages(const std::string& text, const std::string& path) {
  std::vector<StageSummary> out;
  try {
    for (const Json& j : parse_json(text, path + ": metadata 'finished_stages'")) {
      StageSummary s;
      s.stage = j.at("stage").get<int>();
      s.ratio = j.at("ratio").get<double>();
      s.steps = j.at("steps").get<std::int64_t>();
      s.global_step = j.contains("global_step") ? j.at("global_step").get<std::int64_t>() : 0;  // version 1: none
      s.epochs = j.at("epochs").get<std::int64_t>();
      s.train_loss = number(j.at("train_loss"));
      s.train_error = number(j.at("train_error"));
      s.test_error_quantized = number(j.at("test_error_quantized"));
      s.test_error_hybrid = number(j.at("test_error_hybrid"));
      s.best_test_error_quantized = number(j.at("best_test_error_quantized"));
      s.wall_s = j.at("wall_s").get<double>();
      out.push_back(s);
    }
  } catch (const Json::exception& e) {
    SQ_FAIL(path << ": metadata 'finished_stages' is not valid (" << e.what() << ")");
  }
  return out;
}

// Doubles are stored with 17 significant digits so they read back to the same bits.
std::string exact(double v) {
  return Json(v).dump();
}

void put_stats(Checkpoint& c, const std::string& prefix, const EpochStats& s) {
  c.metadata[prefix + "_loss_sum"] = exact(s.loss_sum);
  c.metadata[prefix + "_loss_count"] = std::to_string(s.loss_count);
  c.metadata[prefix + "_correct"] = std::to_string(s.correct);
  c.metadata[prefix + "_seen"] = std::to_string(s.seen);
}

// Reads statistics saved by put_stats and checks them against what `steps` steps of `batch` images can give.
EpochStats get_stats(const Checkpoint& c, const std::string& prefix, std::int64_t steps, std::int64_t batch) {
  EpochStats s;
  s.loss_sum = c.meta_double(prefix + "_loss_sum");
  s.loss_count = c.meta_int(prefix + "_loss_count");
  s.correct = c.meta_int(prefix + "_correct");
  s.seen = c.meta_int(prefix + "_seen");
  SQ_CHECK(std::isfinite(s.loss_sum) && s.loss_sum >= 0,
           "metadata '" << prefix << "_loss_sum' = " << s.loss_sum << " is not a finite non-negative loss sum");
  SQ_CHECK(s.loss_count >= 0 && s.loss_count <= steps, "metadata '" << prefix << "_loss_count' = " << s.loss_count
                                                                    << " is outside [0, " << steps
                                                                    << "] (the steps done in the stage)");
  SQ_CHECK(s.seen >= 0 && s.seen <= s.loss_count * batch,
           "metadata '" << prefix << "_seen' = " << s.seen << " is outside [0, " << s.loss_count * batch << "] ("
                        << prefix << "_loss_count batches of " << batch << ")");
  SQ_CHECK(s.correct >= 0 && s.correct <= s.seen, "metadata '" << prefix << "_correct' = " << s.correct
                                                               << " is outside [0, " << s.seen << "] ('" << prefix
                                                               << "_seen')");
  return s;
}

// A loss (finite, >= 0) or an error percentage (in [0, 100]) read from metadata: null stands for "not measured".
void check_measure(double v, bool percent, const std::string& key) {
  if (std::isnan(v)) return;  // null
  if (percent) {
    SQ_CHECK(v >= 0 && v <= 100, "metadata '" << key << "' = " << v << " is not a percentage in [0, 100]");
  } else {
    SQ_CHECK(std::isfinite(v) && v >= 0, "metadata '" << key << "' = " << v << " is not a finite loss >= 0");
  }
}

void check_stages(const std::vector<StageSummary>& stages, std::size_t expected) {
  SQ_CHECK(stages.size() == expected, "metadata 'finished_stages' lists " << stages.size()
                                                                          << " stages, but the position ('stage', "
                                                                             "'stage_complete') says "
                                                                          << expected << " are finished");
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const StageSummary& s = stages[i];
    const std::string key = "finished_stages[" + std::to_string(i) + "].";
    SQ_CHECK(s.stage == static_cast<int>(i), "metadata '" << key << "stage' = " << s.stage << ", expected " << i);
    SQ_CHECK(s.ratio >= 0 && s.ratio <= 1, "metadata '" << key << "ratio' = " << s.ratio << " is not in [0, 1]");
    SQ_CHECK(s.steps >= 0 && s.epochs >= 0 && s.global_step >= 0,
             "metadata '" << key << "steps/epochs/global_step' must be >= 0");
    SQ_CHECK(std::isfinite(s.wall_s) && s.wall_s >= 0,
             "metadata '" << key << "wall_s' = " << s.wall_s << " is not a finite duration >= 0");
    check_measure(s.train_loss, false, key + "train_loss");
    check_measure(s.train_error, true, key + "train_error");
    check_measure(s.test_error_quantized, true, key + "test_error_quantized");
    check_measure(s.test_error_hybrid, true, key + "test_error_hybrid");
    check_measure(s.best_test_error_quantized, true, key + "best_test_error_quantized");
  }
}

}  // namespace

RunConfig saved_config(const RunConfig& config) {
  RunConfig saved = config;
  const RunSettings defaults;
  saved.run.max_steps = defaults.max_steps;
  saved.run.debug_nan_at_step = defaults.debug_nan_at_step;
  saved.run.debug_sigint_at_step = defaults.debug_sigint_at_step;
  return saved;
}

std::string bad_tensor(const Checkpoint& checkpoint) {
  for (const NamedTensor& t : checkpoint.tensors) {
    if (t.tensor.dtype() != DType::f32) continue;
    const float* v = t.tensor.data<float>();
    const bool variance = t.name.size() >= 12 && t.name.compare(t.name.size() - 12, 12, ".running_var") == 0;
    for (std::int64_t i = 0; i < t.tensor.numel(); ++i) {
      if (!std::isfinite(v[i])) {
        return "tensor '" + t.name + "' holds " + (std::isnan(v[i]) ? "NaN" : "Inf") + " (element " +
               std::to_string(i) + ")";
      }
      if (variance && v[i] < 0) {
        return "tensor '" + t.name + "' holds a negative variance (" + std::to_string(v[i]) + " at element " +
               std::to_string(i) + ")";
      }
    }
  }
  return "";
}

Checkpoint make_checkpoint(const RunConfig& config, nn::Model& model, Trainer& trainer, const RunState& state) {
  Checkpoint c;
  nn::ParameterArena& arena = model.arena();
  for (const nn::Parameter* p : arena.parameters()) c.add(p->name, p->value);
  for (const nn::NamedBuffer& b : model.buffers()) c.add(b.name, *b.tensor);
  const Tensor& velocity = trainer.optimizer().velocity();
  for (const nn::Parameter* p : arena.parameters()) {
    c.add(kMomentumPrefix + p->name, velocity.view(arena_offset(*p, arena), p->shape));
  }
  const RunPosition& pos = state.position;
  c.metadata = config.identity();
  c.metadata[checkpoint_key::kFormat] = kCheckpointFormatName;
  c.metadata[checkpoint_key::kFormatVersion] = std::to_string(kCheckpointFormatVersion);
  c.metadata[checkpoint_key::kConfig] = saved_config(config).to_json(-1, /*per_process=*/false);
  c.metadata[checkpoint_key::kStage] = std::to_string(pos.stage);
  c.metadata[checkpoint_key::kRatio] = exact(config.quant.stages.at(static_cast<std::size_t>(pos.stage)));
  c.metadata[checkpoint_key::kStep] = std::to_string(pos.step);
  c.metadata[checkpoint_key::kEpoch] = std::to_string(pos.epoch);
  c.metadata[checkpoint_key::kGlobalStep] = std::to_string(pos.global_step);
  c.metadata[checkpoint_key::kSeed] = std::to_string(config.run.seed);
  c.metadata[checkpoint_key::kRngCounter] = std::to_string(trainer.step());
  c.metadata[checkpoint_key::kStageComplete] = pos.stage_complete ? "1" : "0";
  put_stats(c, "epoch", state.epoch);
  put_stats(c, "window", state.window);
  c.metadata["epoch_end_pending"] = state.epoch_end_pending ? "1" : "0";
  c.metadata["best_test_error"] = number(state.best_test_error).dump();
  c.metadata["finished_stages"] = stages_json(state.stages);
  c.metadata["method"] = config.method();
  return c;
}

CheckpointExpectation expectation(const RunConfig& config, nn::Model& model) {
  CheckpointExpectation e;
  e.identity = config.identity();
  for (const nn::Parameter* p : model.arena().parameters()) e.tensors.push_back({p->name, DType::f32, p->shape});
  for (const nn::NamedBuffer& b : model.buffers()) {
    e.tensors.push_back({b.name, b.tensor->dtype(), b.tensor->shape()});
  }
  for (const nn::Parameter* p : model.arena().parameters()) {
    e.tensors.push_back({kMomentumPrefix + p->name, DType::f32, p->shape});
  }
  return e;
}

RunState load_checkpoint_into(const Checkpoint& c, const std::string& path, const RunConfig& config, nn::Model& model,
                              Trainer& trainer) {
  check_compatible(c, expectation(config, model), path);
  const std::string bad = bad_tensor(c);
  SQ_CHECK(bad.empty(), "checkpoint " << path << ": " << bad << "; it holds a diverged or damaged state: use an "
                                      << "earlier checkpoint");
  RunState state;
  try {
    const bool version1 = c.meta(checkpoint_key::kFormatVersion) == "1";
    RunPosition& pos = state.position;
    pos.stage = static_cast<int>(c.meta_int(checkpoint_key::kStage));
    pos.step = c.meta_int(checkpoint_key::kStep);
    pos.global_step = c.meta_int(checkpoint_key::kGlobalStep);
    pos.epoch = c.meta_int(checkpoint_key::kEpoch);
    SQ_CHECK(pos.stage >= 0, "metadata 'stage' = " << pos.stage << " is negative");
    SQ_CHECK(pos.step >= 0, "metadata 'step' = " << pos.step << " is negative");
    SQ_CHECK(pos.epoch >= 0 && pos.epoch <= pos.step,
             "metadata 'epoch' = " << pos.epoch << " is outside [0, " << pos.step << "] ('step')");
    SQ_CHECK(pos.global_step >= pos.step,
             "metadata 'global_step' = " << pos.global_step << " is less than 'step' = " << pos.step);
    const std::string& complete = c.meta(checkpoint_key::kStageComplete);
    SQ_CHECK(complete == "0" || complete == "1", "metadata 'stage_complete' = '" << complete << "' is not 0 or 1");
    pos.stage_complete = complete == "1";
    const std::int64_t batch = config.optim.batch;
    state.epoch = get_stats(c, "epoch", pos.step, batch);
    if (!version1) {
      state.window = get_stats(c, "window", pos.step, batch);
      const std::string& pending = c.meta("epoch_end_pending");
      SQ_CHECK(pending == "0" || pending == "1", "metadata 'epoch_end_pending' = '" << pending << "' is not 0 or 1");
      state.epoch_end_pending = pending == "1";
      SQ_CHECK(!(state.epoch_end_pending && pos.stage_complete),
               "metadata 'epoch_end_pending' and 'stage_complete' are both 1");
    }
    const std::string& best = c.meta("best_test_error");
    state.best_test_error = best == "null" ? kNotMeasured : c.meta_double("best_test_error");
    SQ_CHECK(best == "null" || std::isfinite(state.best_test_error),
             "metadata 'best_test_error' = '" << best << "' is neither null nor a finite number");
    check_measure(state.best_test_error, true, "best_test_error");
    state.stages = parse_stages(c.meta("finished_stages"), path);
    check_stages(state.stages, static_cast<std::size_t>(pos.stage) + (pos.stage_complete ? 1 : 0));
    const std::int64_t counter = c.meta_int(checkpoint_key::kRngCounter);
    SQ_CHECK(counter == state.position.global_step, "rng_counter " << counter << " differs from global_step");
    SQ_CHECK(c.meta(checkpoint_key::kSeed) == std::to_string(config.run.seed),
             "the checkpoint was trained with seed " << c.meta(checkpoint_key::kSeed) << ", this run has seed "
                                                     << config.run.seed << " (resume with the same --seed)");
  } catch (const Error& e) {
    SQ_FAIL("checkpoint " << path << ": " << e.message());
  }
  const int stage = state.position.stage;
  SQ_CHECK(stage >= 0 && stage < static_cast<int>(config.quant.stages.size()),
           "checkpoint " << path << " is at stage " << stage + 1 << " but this run has " << config.quant.stages.size()
                         << " stages");
  const double ratio = c.meta_double(checkpoint_key::kRatio);
  SQ_CHECK(ratio == config.quant.stages[static_cast<std::size_t>(stage)],
           "checkpoint " << path << " is at stage " << stage + 1 << " with SQ ratio " << ratio
                         << " but this run's stage " << stage + 1 << " has ratio "
                         << config.quant.stages[static_cast<std::size_t>(stage)]);
  SQ_CHECK(state.position.step <= config.optim.iterations,
           "checkpoint " << path << " is at step " << state.position.step << " of its stage, beyond this run's "
                         << config.optim.iterations << " iterations per stage");

  nn::ParameterArena& arena = model.arena();
  for (nn::Parameter* p : arena.parameters()) p->value.copy_from(c.at(p->name));
  for (const nn::NamedBuffer& b : model.buffers()) b.tensor->copy_from(c.at(b.name));
  const Tensor& velocity = trainer.optimizer().velocity();
  for (const nn::Parameter* p : arena.parameters()) {
    Tensor slot = velocity.view(arena_offset(*p, arena), p->shape);
    slot.copy_from(c.at(kMomentumPrefix + p->name));
  }
  trainer.set_step(static_cast<std::uint64_t>(state.position.global_step));
  return state;
}

}  // namespace sq::train::detail
