// Training state <-> checkpoint: every tensor that decides the next step, and the position and statistics that
// make a resumed run continue (and report) exactly like the uninterrupted one.
#include "train/runner_state.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "sq/core/error.hpp"

namespace sq::train::detail {
namespace {

using Json = nlohmann::ordered_json;

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
    for (const Json& j : Json::parse(text)) {
      StageSummary s;
      s.stage = j.at("stage").get<int>();
      s.ratio = j.at("ratio").get<double>();
      s.steps = j.at("steps").get<std::int64_t>();
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

}  // namespace

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
  c.metadata[checkpoint_key::kConfig] = config.to_json(-1);
  c.metadata[checkpoint_key::kStage] = std::to_string(pos.stage);
  c.metadata[checkpoint_key::kRatio] = exact(config.quant.stages.at(static_cast<std::size_t>(pos.stage)));
  c.metadata[checkpoint_key::kStep] = std::to_string(pos.step);
  c.metadata[checkpoint_key::kEpoch] = std::to_string(pos.epoch);
  c.metadata[checkpoint_key::kGlobalStep] = std::to_string(pos.global_step);
  c.metadata[checkpoint_key::kSeed] = std::to_string(config.run.seed);
  c.metadata[checkpoint_key::kRngCounter] = std::to_string(trainer.step());
  c.metadata[checkpoint_key::kStageComplete] = pos.stage_complete ? "1" : "0";
  c.metadata["epoch_loss_sum"] = exact(state.epoch.loss_sum);
  c.metadata["epoch_loss_count"] = std::to_string(state.epoch.loss_count);
  c.metadata["epoch_correct"] = std::to_string(state.epoch.correct);
  c.metadata["epoch_seen"] = std::to_string(state.epoch.seen);
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
  RunState state;
  try {
    state.position.stage = static_cast<int>(c.meta_int(checkpoint_key::kStage));
    state.position.step = c.meta_int(checkpoint_key::kStep);
    state.position.global_step = c.meta_int(checkpoint_key::kGlobalStep);
    state.position.stage_complete = c.meta(checkpoint_key::kStageComplete) == "1";
    state.epoch.loss_sum = c.meta_double("epoch_loss_sum");
    state.epoch.loss_count = c.meta_int("epoch_loss_count");
    state.epoch.correct = c.meta_int("epoch_correct");
    state.epoch.seen = c.meta_int("epoch_seen");
    const std::string& best = c.meta("best_test_error");
    state.best_test_error = best == "null" ? kNotMeasured : c.meta_double("best_test_error");
    state.stages = parse_stages(c.meta("finished_stages"), path);
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
