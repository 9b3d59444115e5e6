// The output folder of a run: one run per folder. A lock (flock on <dir>/run.lock, released by the kernel when
// the process ends, even by kill -9) keeps a second live process out; a fresh run refuses a folder that already
// holds a run unless it resumes it or is told to --overwrite it.
#pragma once

#include <string>

#include "sq/train/run_config.hpp"

namespace sq::train::detail {

class RunFolder {
 public:
  // Creates `dir` (mkdir -p) and takes its lock; then, unless `resuming`, checks that the folder holds no run
  // (config.json, metrics.jsonl, checkpoints) or, with `overwrite`, removes that run's files. Throws sq::Error
  // naming the folder, what is in it (the configuration keys that differ) and the options that resolve it.
  RunFolder(const std::string& dir, const RunConfig& config, bool resuming, bool overwrite);
  ~RunFolder();
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  const std::string& dir() const { return dir_; }

 private:
  void check_contents(const RunConfig& config, bool resuming, bool overwrite) const;

  std::string dir_;
  int lock_fd_ = -1;
};

inline constexpr const char* kLockFileName = "run.lock";

}  // namespace sq::train::detail
