// Training metrics as JSON lines (one object per logged step, per epoch, per stage end), and the per-stage
// summary table printed at the end of a run. scripts/plot_metrics.py renders the file to PNG.
#pragma once

#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace sq::train {

inline constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();  // written as JSON null

// SQ statistics of one quantized layer at one step (SQ_SPEC section 7: N_q and mean errors).
struct LayerSqStats {
  std::string name;
  std::int64_t units = 0;      // rows (output channels) of the weight
  std::int64_t quantized = 0;  // N_q: rows replaced by their quantized version at this step
  double mean_error = kNotMeasured;
  double mean_error_quantized = kNotMeasured;
  double mean_error_fp = kNotMeasured;
};

struct StepMetrics {
  int stage = 0;  // 0-based
  double ratio = 1.0;
  std::int64_t epoch = 0;        // 0-based epoch within the stage
  std::int64_t step = 0;         // steps completed within the stage
  std::int64_t global_step = 0;  // steps completed over the whole run
  double lr = 0;
  // Mean training loss and error (%) over the steps since the last logged line whose loss was read: every step
  // on the CPU; on a GPU (where reading the loss waits for the device) the logged step alone.
  double loss = kNotMeasured;
  double train_error = kNotMeasured;
  double images_per_s = kNotMeasured;
  double elapsed_s = 0;
  std::vector<LayerSqStats> layers;
};

struct EpochMetrics {
  int stage = 0;
  double ratio = 1.0;
  std::int64_t epoch = 0;  // the epoch just finished (0-based)
  std::int64_t step = 0;
  std::int64_t global_step = 0;
  double lr = 0;
  double train_loss = kNotMeasured;
  double train_error = kNotMeasured;           // %
  double test_loss = kNotMeasured;             // of the fully quantized network
  double test_error_quantized = kNotMeasured;  // %, r = 1 deterministic (the headline number)
  double test_error_hybrid = kNotMeasured;     // %, the hybrid at the stage's ratio with the eval seed (r < 1)
  double test_error_top5 = kNotMeasured;       // %, fully quantized, top-5 (models with more than 5 classes)
  double images_per_s = kNotMeasured;
  double elapsed_s = 0;
  std::vector<LayerSqStats> layers;
};

struct StageSummary {
  int stage = 0;
  double ratio = 1.0;
  std::int64_t steps = 0;
  std::int64_t global_step = 0;  // steps completed over the whole run when the stage ended
  std::int64_t epochs = 0;
  double train_loss = kNotMeasured;
  double train_error = kNotMeasured;
  double test_error_quantized = kNotMeasured;
  double test_error_hybrid = kNotMeasured;
  double best_test_error_quantized = kNotMeasured;
  double wall_s = 0;
};

// A field of an event record: text or a JSON number (integers stay exact, up to 2^64 - 1).
using EventValue = std::variant<std::string, double, std::int64_t, std::uint64_t>;
using EventFields = std::vector<std::pair<std::string, EventValue>>;

// Appends JSON lines to a file, one flushed line per record, so a crash loses at most the line being written
// and `tail -f` shows progress. Records carry "kind": "step" | "epoch" | "stage" | "event", the run's
// "global_step" and "time" (wall clock, seconds since the Unix epoch, UTC).
class MetricsWriter {
 public:
  MetricsWriter() = default;
  // Opens `path` for appending (creating it); throws sq::Error naming the path when it cannot.
  explicit MetricsWriter(const std::string& path);
  ~MetricsWriter();
  MetricsWriter(MetricsWriter&& other) noexcept;
  MetricsWriter& operator=(MetricsWriter&& other) noexcept;
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  bool is_open() const { return file_ != nullptr; }
  const std::string& path() const { return path_; }

  void write(const StepMetrics& m);
  void write(const EpochMetrics& m);
  void write(const StageSummary& m);
  // An event ("start", "resume", "interrupted", "step_limit", "diverged", "finished") at `global_step`, with
  // its fields in the given order.
  void write_event(const std::string& event, std::int64_t global_step, const EventFields& fields = {});

 private:
  void write_line(const std::string& line);

  std::string path_;
  std::FILE* file_ = nullptr;
};

// The record of one JSON line as text (no newline); exposed for tests and for printing.
std::string to_json_line(const StepMetrics& m);
std::string to_json_line(const EpochMetrics& m);
std::string to_json_line(const StageSummary& m);

// Cuts the metrics file at `path` back to what a run had written when it was at `global_step`: every record
// whose global_step is larger, everything after it, and an unparsable last line (a write cut short by a crash or
// a full disk) are removed; with `redo_epoch_end` also the epoch and stage records at `global_step` (a checkpoint
// written while the end-of-epoch work was interrupted: the resumed run redoes it). The file is replaced
// atomically (temp file, fsync, rename); a missing file is left missing. Returns the number of lines removed. A
// resumed run calls this before appending, so its log equals the uninterrupted run's.
std::int64_t truncate_metrics(const std::string& path, std::int64_t global_step, bool redo_epoch_end = false);

// The per-stage table printed at the end of a run (and by scripts/train.sh), e.g.
//   stage  ratio   steps  epochs  train loss  train err %  test err % (quantized)  test err % (hybrid)  time
std::string format_stage_table(const std::vector<StageSummary>& stages);

}  // namespace sq::train
