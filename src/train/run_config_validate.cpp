// RunConfig::validate: names, numeric ranges (run_config_limits), stage lists and the learning-rate schedule;
// every problem is listed with its key and what is allowed.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "sq/core/error.hpp"
#include "sq/train/run_config.hpp"
#include "train/name_list.hpp"
#include "train/run_config_limits.hpp"

namespace sq::train {
namespace {

// Names accepted for the SQ options; they match sq::quant's parse/to_string names (INTERFACES.md).
const std::vector<std::string> kQuantizers = {"none", "bwn", "twn", "twn-caffe", "twn-channel", "kbit"};
const std::vector<std::string> kProbabilities = {"constant", "linear", "softmax", "sigmoid"};
const std::vector<std::string> kSamplers = {"topk", "roulette", "sorted", "frozen", "caffe"};
const std::vector<std::string> kGranularities = {"channel", "element"};
const std::vector<std::string> kArchitectures = {"vgg9",      "resnet20",  "resnet32", "resnet44",  "resnet56",
                                                 "resnet110", "small_cnn", "resnet18", "alexnet_bn"};
const std::vector<std::string> kSchedules = {"constant", "step", "multistep", "cosine"};
const std::vector<std::string> kStageSchedules = {"restart", "continue"};

using detail::contains;
using detail::join;

class Problems {
 public:
  void need(bool ok, const std::string& what) {
    if (!ok) list_.push_back(what);
  }
  void one_of(const std::string& key, const std::string& value, const std::vector<std::string>& names) {
    need(contains(names, value), key + " '" + value + "' is not one of: " + join(names));
  }
  // The key's range from the table (a missing entry is a programming error: every numeric key has one).
  void in_range(const std::string& key, std::int64_t value) {
    const detail::IntLimits* limits = detail::int_limits(key);
    SQ_CHECK(limits != nullptr, "internal: no range for " << key);
    need(value >= limits->lo && value <= limits->hi,
         key + " must be an integer in " + detail::range_text(*limits) + ", got " + std::to_string(value));
  }
  void in_range(const std::string& key, int value) { in_range(key, static_cast<std::int64_t>(value)); }
  void in_range(const std::string& key, double value) {
    const detail::RealLimits* limits = detail::real_limits(key);
    SQ_CHECK(limits != nullptr, "internal: no range for " << key);
    const bool lo_ok = limits->lo_open ? value > limits->lo : value >= limits->lo;
    const bool hi_ok = limits->hi_open ? value < limits->hi : value <= limits->hi;
    std::ostringstream got;
    got << value;
    need(std::isfinite(value) && lo_ok && hi_ok,
         key + " must be a number in " + detail::range_text(*limits) + ", got " + got.str());
  }
  const std::vector<std::string>& list() const { return list_; }

 private:
  std::vector<std::string> list_;
};

void validate_stages(const QuantConfig& quant, Problems& p) {
  const std::vector<double>& stages = quant.stages;
  p.need(!stages.empty(), "quant.stages must list at least one SQ ratio");
  p.need(static_cast<int>(stages.size()) <= detail::kMaxStages,
         "quant.stages lists " + std::to_string(stages.size()) + " stages; at most " +
             std::to_string(detail::kMaxStages) + " are supported");
  for (double r : stages) p.in_range("quant.stages", r);
  if (quant.quantizer == "none") {
    p.need(stages == std::vector<double>{1.0},
           "quant.stages must be [1.0] when quant.quantizer is none (FWN has nothing to quantize in stages)");
    return;
  }
  // SQ_SPEC section 7: the ratio grows stage by stage to 1, the fully quantized network the run reports.
  const bool ordered = std::is_sorted(stages.begin(), stages.end());
  const bool ends_at_one = !stages.empty() && stages.back() == 1.0;
  p.need(quant.allow_any_stages || (ordered && ends_at_one),
         "quant.stages must be non-decreasing and end at 1 (the last stage trains the fully quantized network); "
         "set quant.allow_any_stages (--allow-any-stages) to run another list on purpose");
}

}  // namespace

void RunConfig::validate(const std::string& source) const {
  Problems p;
  p.need(!name.empty() && name.find('/') == std::string::npos, "name must be non-empty and contain no '/'");
  p.one_of("model.arch", model.arch, kArchitectures);
  p.in_range("model.dropout_scale", model.dropout_scale);
  p.one_of("data.dataset", data.dataset, known_datasets());
  p.in_range("data.train_limit", data.train_limit);
  p.in_range("data.test_limit", data.test_limit);
  p.need(data.train_limit == 0 || data.train_limit >= optim.batch,
         "data.train_limit (" + std::to_string(data.train_limit) + ") is smaller than one batch (" +
             std::to_string(optim.batch) + ")");
  p.in_range("data.eval_batch", data.eval_batch);
  p.in_range("data.image_size", data.image_size);
  p.in_range("data.classes_limit", data.classes_limit);
  p.in_range("data.loader_threads", data.loader_threads);
  p.one_of("data.on_bad_image", data.on_bad_image, {"skip", "fail"});
  p.one_of("quant.quantizer", quant.quantizer, kQuantizers);
  p.one_of("quant.probability", quant.probability, kProbabilities);
  p.one_of("quant.sampler", quant.sampler, kSamplers);
  p.one_of("quant.granularity", quant.granularity, kGranularities);
  p.in_range("quant.bits", quant.bits);
  validate_stages(quant, p);
  p.in_range("optim.batch", optim.batch);
  p.in_range("optim.iterations", optim.iterations);
  p.in_range("optim.lr", optim.lr);
  p.in_range("optim.momentum", optim.momentum);
  p.in_range("optim.weight_decay", optim.weight_decay);
  p.one_of("optim.schedule", optim.schedule, kSchedules);
  p.one_of("optim.stage_schedule", optim.stage_schedule, kStageSchedules);
  p.in_range("optim.step_size", optim.step_size);
  p.in_range("optim.gamma", optim.gamma);
  for (std::int64_t m : optim.milestones) p.in_range("optim.milestones", m);
  p.in_range("optim.min_lr", optim.min_lr);
  p.in_range("optim.warmup_iters", optim.warmup_iters);
  p.in_range("optim.warmup_start", optim.warmup_start);
  if (contains(kSchedules, optim.schedule)) {
    try {
      lr_schedule().validate();
    } catch (const Error& e) {
      p.need(false, "optim: " + e.message());
    }
  }
  p.need(run.device == "auto" || run.device == "cpu" || run.device.rfind("cuda", 0) == 0,
         "run.device must be auto, cpu, cuda or cuda:N, not '" + run.device.substr(0, 60) + "'");
  p.in_range("run.log_every", run.log_every);
  p.in_range("run.checkpoint_every", run.checkpoint_every);
  p.in_range("run.eval_every_epochs", run.eval_every_epochs);
  p.in_range("run.bn_recalibrate_batches", run.bn_recalibrate_batches);
  p.need(run.cpu_conv == "reference" || (run.cpu_conv == "onednn" && SQ_WITH_ONEDNN),
         run.cpu_conv == "onednn"
             ? std::string("run.cpu_conv 'onednn': this build has no oneDNN (install libdnnl-dev "
                           "and rebuild), use 'reference'")
             : "run.cpu_conv must be onednn or reference, not '" + run.cpu_conv.substr(0, 60) + "'");
  p.in_range("run.threads", run.threads);
  p.need(run.math == "tf32" || run.math == "fp32",
         "run.math must be tf32 or fp32, not '" + run.math.substr(0, 60) + "'");
  p.in_range("run.max_steps", run.max_steps);
  p.need(run.distributed == "auto" || run.distributed == "on" || run.distributed == "off",
         "run.distributed must be auto (MPI when mpirun/srun started more than one rank), on or off, not '" +
             run.distributed.substr(0, 60) + "'");
  p.in_range("run.dist_timeout_s", run.dist_timeout_s);
  p.in_range("run.replica_check_every", run.replica_check_every);
  p.in_range("run.debug_nan_at_step", run.debug_nan_at_step);
  p.in_range("run.debug_sigint_at_step", run.debug_sigint_at_step);
  if (p.list().empty()) return;
  std::ostringstream out;
  out << source << ": invalid configuration:";
  for (const std::string& problem : p.list()) out << "\n  " << problem;
  SQ_FAIL(out.str());
}

}  // namespace sq::train
