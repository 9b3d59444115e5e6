// The range table of RunConfig's numeric keys (see run_config_limits.hpp). A range states what the value means
// (a batch of 0 or of 10^8 images is not a batch), not just what its C++ type holds.
#include "train/run_config_limits.hpp"

#include <map>
#include <sstream>

namespace sq::train::detail {
namespace {

constexpr std::int64_t kMaxBatch = 65536;

const std::map<std::string, IntLimits>& int_table() {
  static const std::map<std::string, IntLimits> table = {
      {"data.train_limit", {0, kMaxCount}},
      {"data.test_limit", {0, kMaxCount}},
      {"data.eval_batch", {1, kMaxBatch}},
      {"data.image_size", {16, 1024}},
      {"data.classes_limit", {0, 1 << 20}},
      {"data.loader_threads", {0, 1024}},
      {"quant.bits", {2, 8}},
      {"optim.batch", {1, kMaxBatch}},
      {"optim.iterations", {1, kMaxCount}},
      {"optim.step_size", {0, kMaxCount}},  // the step schedule needs >= 1 (LrSchedule::validate)
      {"optim.milestones", {0, kMaxCount}},
      {"optim.warmup_iters", {0, kMaxCount}},
      {"run.log_every", {1, kMaxCount}},
      {"run.checkpoint_every", {0, kMaxCount}},
      {"run.eval_every_epochs", {0, kMaxCount}},
      {"run.bn_recalibrate_batches", {0, 1 << 20}},
      {"run.max_steps", {0, kMaxCount}},
      {"run.threads", {0, 1024}},  // 0: SQ_CPU_THREADS, else the number of cores
      {"run.replica_check_every", {0, kMaxCount}},
      {"run.debug_nan_at_step", {-1, kMaxCount}},
      {"run.debug_sigint_at_step", {-1, kMaxCount}},
  };
  return table;
}

const std::map<std::string, RealLimits>& real_table() {
  static const std::map<std::string, RealLimits> table = {
      {"model.dropout_scale", {0.0, 1.9, false, false}},
      {"quant.stages", {0.0, 1.0, true, false}},
      {"optim.lr", {0.0, 1000.0, true, false}},
      {"optim.momentum", {0.0, 1.0, false, true}},
      {"optim.weight_decay", {0.0, 1.0, false, true}},
      {"optim.gamma", {0.0, 1.0, true, false}},
      {"optim.min_lr", {0.0, 1000.0, false, false}},
      {"optim.warmup_start", {0.0, 1.0, false, false}},
      {"run.dist_timeout_s", {0.0, 604800.0, false, false}},
  };
  return table;
}

}  // namespace

const IntLimits* int_limits(const std::string& key) {
  const auto it = int_table().find(key);
  return it == int_table().end() ? nullptr : &it->second;
}

const RealLimits* real_limits(const std::string& key) {
  const auto it = real_table().find(key);
  return it == real_table().end() ? nullptr : &it->second;
}

std::string range_text(const IntLimits& limits) {
  std::ostringstream out;
  out << "[" << limits.lo << ", ";
  if (limits.hi == kMaxCount)
    out << "2^40";
  else
    out << limits.hi;
  out << "]";
  return out.str();
}

std::string range_text(const RealLimits& limits) {
  std::ostringstream out;
  out << (limits.lo_open ? "(" : "[") << limits.lo << ", " << limits.hi << (limits.hi_open ? ")" : "]");
  return out.str();
}

}  // namespace sq::train::detail
