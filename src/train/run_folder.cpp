// One run per output folder: the lock against a second live process, and the refusal to start a fresh run over
// another one (which would append to its metrics.jsonl and overwrite its checkpoints).
#include "train/run_folder.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "sq/core/error.hpp"
#include "train/json_parse.hpp"
#include "train/runner_state.hpp"
#include "train/runner_support.hpp"

namespace sq::train::detail {
namespace {

using Json = nlohmann::json;

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The files a run writes into its folder (plots included: scripts/train.sh renders them there).
bool is_run_file(const std::string& name) {
  static const char* const kFixed[] = {"config.json", "metrics.jsonl", "last.safetensors", "loss.png",
                                       "error.png",   "ratio.png",     "sq_error.png"};
  for (const char* f : kFixed) {
    if (name == f) return true;
  }
  // stage<k>.safetensors
  const std::string prefix = "stage", suffix = ".safetensors";
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return false;
  }
  for (std::size_t i = prefix.size(); i < name.size() - suffix.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  return true;
}

std::vector<std::string> run_files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  SQ_CHECK(d != nullptr, "cannot list output folder " << dir << ": " << std::strerror(errno));
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (is_run_file(name) && is_file(dir + "/" + name)) out.push_back(name);
  }
  ::closedir(d);
  return out;
}

// "key: folder's value -> this run's value" for the first few keys that differ.
std::string differences(const std::string& folder_config, const std::string& this_config, int& count) {
  Json a, b;
  try {
    // The shared reader first: a hand-edited config.json may nest deeply or repeat keys (flatten recurses).
    (void)detail::parse_json(folder_config, "config.json", {detail::JsonLimits{}.max_depth, true});
    a = Json::parse(folder_config, nullptr, true, /*ignore_comments=*/true).flatten();
  } catch (const Json::exception&) {
    count = 1;
    return "its config.json is not valid JSON";
  } catch (const Error&) {
    count = 1;
    return "its config.json is not valid JSON (too deep or a repeated key)";
  }
  b = Json::parse(this_config).flatten();
  std::ostringstream out;
  count = 0;
  auto excerpt = [](const Json& v) {
    const std::string text = v.dump();
    return text.size() > 40 ? text.substr(0, 37) + "..." : text;
  };
  auto note = [&](const std::string& pointer, const std::string& have, const std::string& want) {
    std::string key = pointer.substr(1);  // JSON pointer "/quant/quantizer" -> "quant.quantizer"
    for (char& c : key) c = c == '/' ? '.' : c;
    if (++count <= 5) out << (count > 1 ? ", " : "") << key << " " << have << " -> " << want;
  };
  for (const auto& item : b.items()) {
    const auto other = a.find(item.key());
    if (other == a.end()) {
      note(item.key(), "(none)", excerpt(item.value()));
    } else if (*other != item.value()) {
      note(item.key(), excerpt(*other), excerpt(item.value()));
    }
  }
  for (const auto& item : a.items()) {
    if (!b.contains(item.key())) note(item.key(), excerpt(item.value()), "(none)");
  }
  if (count > 5) out << " and " << (count - 5) << " more";
  return out.str();
}

}  // namespace

RunFolder::RunFolder(const std::string& dir, const RunConfig& config, bool resuming, bool overwrite) : dir_(dir) {
  make_dirs(dir);
  const std::string lock_path = dir + "/" + kLockFileName;
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  SQ_CHECK(lock_fd_ >= 0, "cannot create the lock file " << lock_path << ": " << std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int why = errno;
    char pid[32] = {};
    const ssize_t n = ::pread(lock_fd_, pid, sizeof pid - 1, 0);
    ::close(lock_fd_);
    lock_fd_ = -1;
    SQ_CHECK(why == EWOULDBLOCK, "cannot lock " << lock_path << ": " << std::strerror(why));
    std::string holder(pid, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    SQ_FAIL("output folder " << dir << " is in use by another running train_cifar"
                             << (holder.empty() ? std::string() : " (pid " + holder + ")")
                             << ": two processes must not write one run; wait for it to finish, or give this run "
                                "its own folder with --output DIR or --name NAME");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) == 0) {
    const ssize_t written = ::pwrite(lock_fd_, pid.data(), pid.size(), 0);
    (void)written;  // the pid is a courtesy for the message above; the lock is what counts
  }
  try {
    check_contents(config, resuming, overwrite);
  } catch (...) {
    ::close(lock_fd_);  // the destructor does not run for a constructor that throws
    lock_fd_ = -1;
    throw;
  }
}

void RunFolder::check_contents(const RunConfig& config, bool resuming, bool overwrite) const {
  const std::string& dir = dir_;
  if (resuming) return;

  const std::vector<std::string> files = run_files(dir);
  if (files.empty()) return;
  if (overwrite) {
    for (const std::string& f : files) {
      const std::string path = dir + "/" + f;
      SQ_CHECK(::unlink(path.c_str()) == 0 || errno == ENOENT,
               "--overwrite: cannot remove " << path << ": " << std::strerror(errno));
    }
    return;
  }
  std::string what;
  const std::string config_path = dir + "/config.json";
  if (is_file(config_path)) {
    std::ifstream in(config_path);
    std::stringstream text;
    text << in.rdbuf();
    int count = 0;
    const std::string diff = differences(text.str(), saved_config(config).to_json(), count);
    what = count == 0 ? "this run (the same configuration)" : "another run (its configuration differs: " + diff + ")";
  } else {
    what = "another run's files";
  }
  std::string listed;
  for (std::size_t i = 0; i < files.size() && i < 4; ++i) listed += (i ? ", " : "") + files[i];
  if (files.size() > 4) listed += ", ...";
  SQ_FAIL("output folder " << dir << " already holds " << what << " (" << listed
                           << "); starting here would mix two runs' metrics and overwrite its checkpoints. Give this "
                              "run its own folder with --output DIR or --name NAME, continue that run with --resume "
                           << dir << "/last.safetensors, or delete it and start over with --overwrite");
}

RunFolder::~RunFolder() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

}  // namespace sq::train::detail
