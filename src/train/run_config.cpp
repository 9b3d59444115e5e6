// RunConfig: methods, derived values, validation and JSON (strict: unknown keys and wrong types are errors).
#include "sq/train/run_config.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>

#include "sq/core/error.hpp"
#include "sq/data/datasets.hpp"
#include "train/json_parse.hpp"
#include "train/name_list.hpp"
#include "train/run_config_limits.hpp"

namespace sq::train {
namespace {

using detail::Json;
using detail::json_excerpt;

// quant.method's default stages (SQ_SPEC section 7).
const std::vector<double> kDefaultStages = {0.5, 0.75, 0.875, 1.0};

using detail::contains;
using detail::join;

// Reads one JSON object's keys into fields, remembering which keys it knows so the rest can be refused.
class Section {
 public:
  Section(const Json& object, std::string where, std::string source)
      : object_(object), where_(std::move(where)), source_(std::move(source)) {
    SQ_CHECK(object_.is_object(),
             source_ << ": '" << where_ << "' must be a JSON object, not " << json_excerpt(object_));
  }

  const Json* find(const std::string& key) {
    known_.push_back(key);
    const auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  void read(const std::string& key, std::string& field) {
    if (const Json* v = find(key)) field = as<std::string>(key, *v, v->is_string(), "a string");
  }
  void read(const std::string& key, bool& field) {
    if (const Json* v = find(key)) field = as<bool>(key, *v, v->is_boolean(), "true or false");
  }
  void read(const std::string& key, int& field) { read_integer(key, field); }
  void read(const std::string& key, std::int64_t& field) { read_integer(key, field); }
  void read(const std::string& key, std::uint64_t& field) { read_integer(key, field); }
  void read(const std::string& key, double& field) {
    if (const Json* v = find(key)) field = as<double>(key, *v, v->is_number(), "a number");
  }
  template <class T>
  void read(const std::string& key, std::vector<T>& field) {
    const Json* v = find(key);
    if (!v) return;
    SQ_CHECK(v->is_array(), source_ << ": '" << where_ << "." << key << "' must be a list, not " << json_excerpt(*v));
    std::vector<T> values;
    for (const Json& item : *v) {
      if constexpr (std::is_integral<T>::value) {
        values.push_back(integer<T>(key, item));
      } else {
        SQ_CHECK(item.is_number(),
                 source_ << ": '" << where_ << "." << key << "' must hold numbers, not " << json_excerpt(item));
        values.push_back(item.get<T>());
      }
    }
    field = values;
  }

  // Throws when the object holds a key nobody asked for (a typo would otherwise be silently ignored).
  void refuse_unknown() const {
    for (const auto& item : object_.items()) {
      SQ_CHECK(std::find(known_.begin(), known_.end(), item.key()) != known_.end(),
               source_ << ": unknown key '" << item.key().substr(0, 60) << "' in '" << where_
                       << "' (known keys: " << join(known_) << ")");
    }
  }

 private:
  template <class T>
  T as(const std::string& key, const Json& v, bool ok, const char* what) {
    SQ_CHECK(ok, source_ << ": '" << where_ << "." << key << "' must be " << what << ", not " << json_excerpt(v));
    return v.get<T>();
  }

  template <class T>
  void read_integer(const std::string& key, T& field) {
    if (const Json* v = find(key)) field = integer<T>(key, *v);
  }

  // An integer that fits T, or an error quoting the key's allowed range (its meaning's, else T's): a value is
  // never wrapped into the field (4294967360 is not a batch of 64).
  template <class T>
  T integer(const std::string& key, const Json& v) {
    using Limits = std::numeric_limits<T>;
    bool fits = false;
    if (v.is_number_unsigned()) {
      fits = v.get<std::uint64_t>() <= static_cast<std::uint64_t>(Limits::max());
    } else if (v.is_number_integer()) {
      fits = std::is_signed<T>::value && v.get<std::int64_t>() >= static_cast<std::int64_t>(Limits::min());
    }
    if (!fits) {
      const std::string full = where_ + "." + key;
      std::ostringstream range;
      if (const detail::IntLimits* limits = detail::int_limits(full)) {
        range << detail::range_text(*limits);
      } else {
        range << "[" << +Limits::min() << ", " << +Limits::max() << "]";
      }
      SQ_FAIL(source_ << ": '" << full << "' must be an integer in " << range.str() << ", not " << json_excerpt(v));
    }
    return v.get<T>();
  }

  const Json& object_;
  std::string where_, source_;
  std::vector<std::string> known_;
};

}  // namespace

const std::vector<std::string>& known_datasets() {
  static const std::vector<std::string> names = data::dataset_names();
  return names;
}

const std::vector<std::string>& known_methods() {
  static const std::vector<std::string> names = {"fwn",       "bwn",          "twn",         "sq-bwn",         "sq-twn",
                                                 "twn-caffe", "sq-twn-caffe", "twn-channel", "sq-twn-channel", "kbit",
                                                 "sq-kbit"};
  return names;
}

std::string default_data_dir(const std::string& dataset) {
  return data::default_data_dir(data::parse_dataset_kind(dataset));
}

std::string RunConfig::method() const {
  if (quant.quantizer == "none") return "fwn";
  const bool staged = !(quant.stages.size() == 1 && quant.stages[0] == 1.0);
  return (staged ? "sq-" : "") + quant.quantizer;
}

void RunConfig::apply_method(const std::string& name) {
  SQ_CHECK(contains(known_methods(), name), "unknown method '" << name << "' (known: " << join(known_methods()) << ")");
  if (name == "fwn") {
    quant.quantizer = "none";
    quant.stages = {1.0};
    return;
  }
  const bool staged = name.rfind("sq-", 0) == 0;
  quant.quantizer = staged ? name.substr(3) : name;
  quant.stages = staged ? kDefaultStages : std::vector<double>{1.0};
}

std::string RunConfig::output_dir() const {
  return run.output.empty() ? "runs/" + name : run.output;
}

std::string RunConfig::data_dir() const {
  return data.dir.empty() ? default_data_dir(data.dataset) : data.dir;
}

int RunConfig::classes() const {
  // ImageNet: 1000 or the subset; an image folder: its class folders (0 here: counted when the folder is read).
  if (data.dataset == "imagenet")
    return data.classes_limit > 0 ? static_cast<int>(std::min<std::int64_t>(data.classes_limit, 1000)) : 1000;
  if (data.dataset == "image-folder") return static_cast<int>(data.classes_limit);
  if (data.dataset == "cifar100") return 100;
  if (data.dataset == "cifar100-coarse") return 20;
  return 10;
}

int RunConfig::in_channels() const {
  return data.dataset == "fashion-mnist" ? 1 : 3;
}

LrSchedule RunConfig::lr_schedule() const {
  LrSchedule s;
  s.kind = parse_schedule_kind(optim.schedule);
  s.lr0 = optim.lr;
  s.gamma = optim.gamma;
  s.step_size = optim.step_size;
  s.milestones = optim.milestones;
  // One schedule per stage, or one over all of them.
  s.total_iters = stages_restart() ? optim.iterations : optim.iterations * static_cast<std::int64_t>(quant.stages.size());
  s.min_lr = optim.min_lr;
  s.warmup_iters = optim.warmup_iters;
  s.warmup_start = optim.warmup_start;
  return s;
}

std::int64_t RunConfig::schedule_step(std::int64_t stage, std::int64_t step) const {
  return stages_restart() ? step : stage * optim.iterations + step;
}

std::map<std::string, std::string> RunConfig::identity() const {
  std::map<std::string, std::string> id = {{"arch", model.arch},
                                           {"dataset", data.dataset},
                                           {"classes", std::to_string(classes())},
                                           {"in_channels", std::to_string(in_channels())},
                                           {"quantizer", quant.quantizer},
                                           {"quantize_first", model.quantize_first ? "1" : "0"},
                                           {"quantize_last", model.quantize_last ? "1" : "0"},
                                           {"stages", std::to_string(quant.stages.size())}};
  if (quant.quantizer != "none") id["granularity"] = quant.granularity;
  if (quant.quantizer == "kbit") id["bits"] = std::to_string(quant.bits);
  return id;
}

std::string RunConfig::to_json(int indent, bool per_process) const {
  Json j;
  j["name"] = name;
  j["model"] = {{"arch", model.arch},
                {"quantize_first", model.quantize_first},
                {"quantize_last", model.quantize_last},
                {"dropout_scale", model.dropout_scale},
                {"decay_1d", model.decay_1d}};
  j["data"] = {{"dataset", data.dataset},
               {"dir", data.dir},
               {"train_limit", data.train_limit},
               {"test_limit", data.test_limit},
               {"crop", data.crop},
               {"flip", data.flip},
               {"eval_batch", data.eval_batch},
               {"image_size", data.image_size},
               {"classes_limit", data.classes_limit},
               {"on_bad_image", data.on_bad_image},
               {"loader_threads", data.loader_threads}};
  j["quant"] = {{"method", method()},       {"quantizer", quant.quantizer},
                {"bits", quant.bits},       {"probability", quant.probability},
                {"sampler", quant.sampler}, {"granularity", quant.granularity},
                {"stages", quant.stages}};
  if (quant.allow_any_stages) j["quant"]["allow_any_stages"] = true;
  j["optim"] = {{"batch", optim.batch},
                {"iterations", optim.iterations},
                {"lr", optim.lr},
                {"momentum", optim.momentum},
                {"weight_decay", optim.weight_decay},
                {"schedule", optim.schedule},
                {"step_size", optim.step_size},
                {"gamma", optim.gamma},
                {"milestones", optim.milestones},
                {"min_lr", optim.min_lr},
                {"warmup_iters", optim.warmup_iters},
                {"warmup_start", optim.warmup_start},
                {"stage_schedule", optim.stage_schedule}};
  j["run"] = {{"seed", run.seed},
              {"device", run.device},
              {"output", run.output},
              {"log_every", run.log_every},
              {"checkpoint_every", run.checkpoint_every},
              {"eval_every_epochs", run.eval_every_epochs},
              {"eval_seed", run.eval_seed},
              {"bn_recalibrate_batches", run.bn_recalibrate_batches},
              {"math", run.math},
              {"deterministic", run.deterministic},
              {"cuda_graph", run.cuda_graph},
              {"cpu_conv", run.cpu_conv},
              {"threads", run.threads},
              {"max_steps", run.max_steps},
              {"sync_bn", run.sync_bn},
              {"distributed", run.distributed},
              {"dist_timeout_s", run.dist_timeout_s},
              {"replica_check_every", run.replica_check_every}};
  if (!per_process) {
    // Per-process keys carry their defaults: what this process chose is not part of the run.
    const Json defaults = Json::parse(RunConfig{}.to_json(-1));
    for (const std::string& key : per_process_keys()) {
      const std::size_t dot = key.find('.');
      const std::string section = key.substr(0, dot), field = key.substr(dot + 1);
      j[section][field] = defaults[section][field];
    }
  }
  return j.dump(indent);
}

RunConfig RunConfig::from_json(const std::string& text, const std::string& source) {
  // Config files may carry // and /* */ comments and a UTF-8 byte order mark (docs/TRAINING.md).
  detail::JsonLimits limits;
  limits.allow_comments = true;
  const Json j = detail::parse_json(text, source, limits);
  RunConfig c;
  Section top(j, "(top level)", source);
  top.read("name", c.name);
  if (const Json* m = top.find("model")) {
    Section s(*m, "model", source);
    s.read("arch", c.model.arch);
    s.read("quantize_first", c.model.quantize_first);
    s.read("quantize_last", c.model.quantize_last);
    s.read("dropout_scale", c.model.dropout_scale);
    s.read("decay_1d", c.model.decay_1d);
    s.refuse_unknown();
  }
  if (const Json* d = top.find("data")) {
    Section s(*d, "data", source);
    s.read("dataset", c.data.dataset);
    s.read("dir", c.data.dir);
    s.read("train_limit", c.data.train_limit);
    s.read("test_limit", c.data.test_limit);
    s.read("crop", c.data.crop);
    s.read("flip", c.data.flip);
    s.read("eval_batch", c.data.eval_batch);
    s.read("image_size", c.data.image_size);
    s.read("classes_limit", c.data.classes_limit);
    s.read("on_bad_image", c.data.on_bad_image);
    s.read("loader_threads", c.data.loader_threads);
    s.refuse_unknown();
  }
  if (const Json* q = top.find("quant")) {
    Section s(*q, "quant", source);
    // The method sets quantizer and stages first; explicit keys below refine it.
    std::string method;
    s.read("method", method);
    if (!method.empty()) {
      try {
        c.apply_method(method);
      } catch (const Error& e) {
        SQ_FAIL(source << ": quant.method: " << e.message());
      }
    }
    s.read("quantizer", c.quant.quantizer);
    s.read("bits", c.quant.bits);
    s.read("probability", c.quant.probability);
    s.read("sampler", c.quant.sampler);
    s.read("granularity", c.quant.granularity);
    s.read("stages", c.quant.stages);
    s.read("allow_any_stages", c.quant.allow_any_stages);
    s.refuse_unknown();
    SQ_CHECK(method.empty() || method == c.method(),
             source << ": quant.method says " << method << " but quantizer/stages make it " << c.method());
  }
  if (const Json* o = top.find("optim")) {
    Section s(*o, "optim", source);
    s.read("batch", c.optim.batch);
    s.read("iterations", c.optim.iterations);
    s.read("lr", c.optim.lr);
    s.read("momentum", c.optim.momentum);
    s.read("weight_decay", c.optim.weight_decay);
    s.read("schedule", c.optim.schedule);
    s.read("step_size", c.optim.step_size);
    s.read("gamma", c.optim.gamma);
    s.read("milestones", c.optim.milestones);
    s.read("min_lr", c.optim.min_lr);
    s.read("warmup_iters", c.optim.warmup_iters);
    s.read("warmup_start", c.optim.warmup_start);
    s.read("stage_schedule", c.optim.stage_schedule);
    s.refuse_unknown();
  }
  if (const Json* r = top.find("run")) {
    Section s(*r, "run", source);
    s.read("seed", c.run.seed);
    s.read("device", c.run.device);
    s.read("output", c.run.output);
    s.read("log_every", c.run.log_every);
    s.read("checkpoint_every", c.run.checkpoint_every);
    s.read("eval_every_epochs", c.run.eval_every_epochs);
    s.read("eval_seed", c.run.eval_seed);
    s.read("bn_recalibrate_batches", c.run.bn_recalibrate_batches);
    s.read("math", c.run.math);
    s.read("deterministic", c.run.deterministic);
    s.read("cuda_graph", c.run.cuda_graph);
    s.read("cpu_conv", c.run.cpu_conv);
    s.read("threads", c.run.threads);
    s.read("max_steps", c.run.max_steps);
    s.read("sync_bn", c.run.sync_bn);
    s.read("distributed", c.run.distributed);
    s.read("dist_timeout_s", c.run.dist_timeout_s);
    s.read("replica_check_every", c.run.replica_check_every);
    s.refuse_unknown();
  }
  top.find("comment");  // free text for humans
  top.refuse_unknown();
  return c;
}

RunConfig load_run_config(const std::string& path) {
  std::ifstream in(path);
  SQ_CHECK(in.good(), "cannot open config file " << path);
  std::stringstream text;
  text << in.rdbuf();
  RunConfig c = RunConfig::from_json(text.str(), path);
  c.validate(path);
  return c;
}

}  // namespace sq::train
