// What a resume may change: per-process keys freely; any other key only with --allow-config-change, since
// changing lr, iterations, schedule, batch or data mid-stage silently makes a different run.
#include <set>
#include <sstream>

#include "sq/core/error.hpp"
#include "sq/train/checkpoint.hpp"
#include "sq/train/run_config.hpp"
#include "train/json_parse.hpp"

namespace sq::train {
namespace {

using detail::Json;

// "section.key" -> compact JSON value, for every key a configuration saves.
std::map<std::string, std::string> flatten(const RunConfig& c) {
  std::map<std::string, std::string> out;
  const Json j = Json::parse(c.to_json(-1, /*per_process=*/false));
  for (const auto& item : j.items()) {
    if (!item.value().is_object()) {
      out[item.key()] = item.value().dump();
      continue;
    }
    for (const auto& field : item.value().items()) out[item.key() + "." + field.key()] = field.value().dump();
  }
  out.erase("quant.method");  // derived from quantizer and stages, which are compared themselves
  return out;
}

}  // namespace

const std::vector<std::string>& per_process_keys() {
  static const std::vector<std::string> keys = {
      "run.device",  "run.math",        "run.deterministic",  "run.cuda_graph",          "run.max_steps",
      "run.threads", "run.distributed", "run.dist_timeout_s", "run.replica_check_every", "data.loader_threads"};
  return keys;
}

std::vector<ConfigChange> config_changes(const RunConfig& saved, const RunConfig& requested) {
  const std::map<std::string, std::string> before = flatten(saved), after = flatten(requested);
  std::set<std::string> keys;
  for (const auto& [key, value] : before) keys.insert(key);
  for (const auto& [key, value] : after) keys.insert(key);
  std::vector<ConfigChange> changes;
  for (const std::string& key : keys) {
    const auto b = before.find(key), a = after.find(key);
    const std::string old_value = b == before.end() ? "(unset)" : b->second;
    const std::string new_value = a == after.end() ? "(unset)" : a->second;
    if (old_value != new_value) changes.push_back({key, old_value, new_value});
  }
  return changes;
}

std::vector<ConfigChange> check_resume_config(const std::string& path, const RunConfig& requested) {
  const Checkpoint checkpoint = read_checkpoint(path);
  const auto text = checkpoint.metadata.find(checkpoint_key::kConfig);
  SQ_CHECK(text != checkpoint.metadata.end(),
           "checkpoint " << path << " holds no run configuration (metadata '" << checkpoint_key::kConfig << "')");
  const RunConfig saved = RunConfig::from_json(text->second, path + " (its 'config' metadata)");
  std::vector<ConfigChange> changes = config_changes(saved, requested);
  if (changes.empty() || requested.run.allow_config_change) return changes;
  std::ostringstream out;
  out << "--resume " << path << ": this run's configuration differs from the one the checkpoint was trained with, "
      << "which would change the run mid-way:";
  for (const ConfigChange& c : changes) {
    out << "\n  " << c.key << ": checkpoint " << c.saved << ", now " << c.requested;
  }
  out << "\n  resume with the checkpoint's configuration (--resume alone uses it), start a new run (--output), or "
         "pass --allow-config-change to accept these changes";
  SQ_FAIL(out.str());
}

}  // namespace sq::train
