// Helpers for the end-to-end tests: run train_cifar in-process, temp folders, metrics and checkpoint reading.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sq/train/runner.hpp"

namespace sq_e2e {

struct RunResult {
  int rc = -1;
  std::string out, err;
};

inline RunResult train_cifar(std::vector<std::string> args) {
  args.insert(args.begin(), "train_cifar");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  RunResult r;
  r.rc = sq::train::train_cifar_main(static_cast<int>(argv.size()), argv.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

inline std::string fresh_dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "sq_e2e_" + name + "_" + std::to_string(::getpid());
  EXPECT_EQ(std::system(("rm -rf '" + dir + "'").c_str()), 0);
  return dir;
}

// Removes a test's output folder when the test passed (kept for inspection when it failed).
inline void clean_up(const std::string& dir) {
  if (!::testing::Test::HasFailure()) {
    EXPECT_EQ(std::system(("rm -rf '" + dir + "'").c_str()), 0);
  }
}

inline std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

inline std::vector<nlohmann::json> of_kind(const std::vector<nlohmann::json>& lines, const std::string& kind) {
  std::vector<nlohmann::json> out;
  for (const auto& l : lines) {
    if (l["kind"] == kind) out.push_back(l);
  }
  return out;
}

inline bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// A tiny two-stage SQ-TWN run on real Fashion-MNIST (a subset), a few seconds on one core.
inline std::vector<std::string> tiny_run(const std::string& output) {
  return {"--config",
          SQ_SOURCE_DIR "/configs/quick-sq-twn-fashion-mnist.json",
          "--device",
          "cpu",
          "--output",
          output,
          "--stages",
          "0.5,1",
          "--train-limit",
          "1000",
          "--test-limit",
          "500",
          "--batch",
          "32",
          "--iterations",
          "60",
          "--log-every",
          "10",
          "--checkpoint-every",
          "0",
          "--eval-batch",
          "250"};
}

// ---- train_cifar as a separate process (signals, kill -9, two processes on one folder).

inline const char* kTrainCifarBinary = SQ_BINARY_DIR "/apps/train_cifar/train_cifar";

// Starts the train_cifar binary with `args`; its stdout and stderr go to `log_prefix`.out / .err.
inline pid_t spawn_train_cifar(const std::vector<std::string>& args, const std::string& log_prefix) {
  std::vector<std::string> all = {kTrainCifarBinary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string out = log_prefix + ".out", err = log_prefix + ".err";
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, kTrainCifarBinary, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0) << "cannot start " << kTrainCifarBinary;
  return rc == 0 ? pid : -1;
}

// How a child ended: its exit code, or the signal that killed it.
struct ChildEnd {
  bool exited = false;
  int code = -1;   // when exited
  int signal = 0;  // when killed by a signal
};

inline ChildEnd wait_child(pid_t pid) {
  int status = 0;
  ChildEnd end;
  if (::waitpid(pid, &status, 0) != pid) return end;
  end.exited = WIFEXITED(status);
  end.code = end.exited ? WEXITSTATUS(status) : -1;
  end.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return end;
}

// True once the child has ended (then `end` says how), without blocking.
inline bool child_ended(pid_t pid, ChildEnd& end) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return false;
  end.exited = WIFEXITED(status);
  end.code = end.exited ? WEXITSTATUS(status) : -1;
  end.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return true;
}

// The complete, parsable lines of a metrics file that a running process is writing.
inline std::vector<nlohmann::json> read_metrics_so_far(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline yet: still being written
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) out.push_back(j);
  }
  return out;
}

// Polls `metrics` until a record satisfies `want` (true), the child ends or `timeout_s` passes (false).
inline bool wait_for_record(pid_t pid, const std::string& metrics,
                            const std::function<bool(const nlohmann::json&)>& want, double timeout_s, ChildEnd& end) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const nlohmann::json& j : read_metrics_so_far(metrics)) {
      if (want(j)) return true;
    }
    if (child_ended(pid, end)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The records a run's log must share with the uninterrupted run's: steps, epochs and stages, without the
// wall-clock fields (events say how this particular run went: starts, resumes, interruptions).
inline std::vector<nlohmann::json> comparable_records(const std::vector<nlohmann::json>& lines) {
  std::vector<nlohmann::json> out;
  for (nlohmann::json l : lines) {
    if (l["kind"] == "event") continue;
    for (const char* key : {"time", "elapsed_s", "images_per_s", "wall_s"}) l.erase(key);
    out.push_back(l);
  }
  return out;
}

}  // namespace sq_e2e
