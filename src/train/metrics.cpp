// JSON-lines metrics writer and the per-stage summary table.
#include "sq/train/metrics.hpp"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>
#include <utility>
#include <variant>

#include "sq/core/error.hpp"
#include "sq/train/progress.hpp"
#include "train/atomic_file.hpp"

namespace sq::train {
namespace {

using Json = nlohmann::ordered_json;

// JSON has no NaN or Inf: unmeasured (or diverged) values are written as null.
Json number(double v) {
  return std::isfinite(v) ? Json(v) : Json(nullptr);
}

Json layers_json(const std::vector<LayerSqStats>& layers) {
  Json out = Json::array();
  for (const LayerSqStats& l : layers) {
    out.push_back({{"name", l.name},
                   {"units", l.units},
                   {"quantized", l.quantized},
                   {"mean_error", number(l.mean_error)},
                   {"mean_error_quantized", number(l.mean_error_quantized)},
                   {"mean_error_fp", number(l.mean_error_fp)}});
  }
  return out;
}

// Wall clock in seconds since the Unix epoch, to the millisecond.
double unix_time_s() {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  return static_cast<double>(ms.count()) / 1000.0;
}

std::string fixed(double v, int precision, const char* missing = "-") {
  if (!std::isfinite(v)) return missing;
  std::ostringstream out;
  out << std::fixed << std::setprecision(precision) << v;
  return out.str();
}

Json to_json(const StepMetrics& m) {
  Json j = {{"kind", "step"},
            {"stage", m.stage},
            {"ratio", m.ratio},
            {"epoch", m.epoch},
            {"step", m.step},
            {"global_step", m.global_step},
            {"lr", m.lr},
            {"loss", number(m.loss)},
            {"train_error", number(m.train_error)},
            {"images_per_s", number(m.images_per_s)},
            {"elapsed_s", m.elapsed_s}};
  if (!m.layers.empty()) j["layers"] = layers_json(m.layers);
  return j;
}

Json to_json(const EpochMetrics& m) {
  Json j = {{"kind", "epoch"},
            {"stage", m.stage},
            {"ratio", m.ratio},
            {"epoch", m.epoch},
            {"step", m.step},
            {"global_step", m.global_step},
            {"lr", m.lr},
            {"train_loss", number(m.train_loss)},
            {"train_error", number(m.train_error)},
            {"test_loss", number(m.test_loss)},
            {"test_error_quantized", number(m.test_error_quantized)},
            {"test_error_hybrid", number(m.test_error_hybrid)},
            {"test_error_top5", number(m.test_error_top5)},
            {"images_per_s", number(m.images_per_s)},
            {"elapsed_s", m.elapsed_s}};
  if (!m.layers.empty()) j["layers"] = layers_json(m.layers);
  return j;
}

Json to_json(const StageSummary& m) {
  return {{"kind", "stage"},
          {"stage", m.stage},
          {"ratio", m.ratio},
          {"steps", m.steps},
          {"global_step", m.global_step},
          {"epochs", m.epochs},
          {"train_loss", number(m.train_loss)},
          {"train_error", number(m.train_error)},
          {"test_error_quantized", number(m.test_error_quantized)},
          {"test_error_hybrid", number(m.test_error_hybrid)},
          {"best_test_error_quantized", number(m.best_test_error_quantized)},
          {"wall_s", m.wall_s}};
}

// The global step a metrics line was written at; -1 when the line is not a JSON object or carries none.
std::int64_t line_global_step(const Json& j) {
  if (!j.is_object()) return -1;
  const auto it = j.find("global_step");
  if (it == j.end()) return -1;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) {  // events before the numbers-as-numbers change
    try {
      return std::stoll(it->get<std::string>());
    } catch (const std::exception&) {
      return -1;
    }
  }
  return -1;
}

}  // namespace

std::string to_json_line(const StepMetrics& m) {
  return to_json(m).dump();
}
std::string to_json_line(const EpochMetrics& m) {
  return to_json(m).dump();
}
std::string to_json_line(const StageSummary& m) {
  return to_json(m).dump();
}

MetricsWriter::MetricsWriter(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "a");
  SQ_CHECK(file_ != nullptr, "cannot open metrics file " << path << " for appending: " << std::strerror(errno));
}

MetricsWriter::~MetricsWriter() {
  if (file_) std::fclose(file_);
}

MetricsWriter::MetricsWriter(MetricsWriter&& other) noexcept
    : path_(std::move(other.path_)), file_(std::exchange(other.file_, nullptr)) {}

MetricsWriter& MetricsWriter::operator=(MetricsWriter&& other) noexcept {
  if (this != &other) {
    if (file_) std::fclose(file_);
    path_ = std::move(other.path_);
    file_ = std::exchange(other.file_, nullptr);
  }
  return *this;
}

void MetricsWriter::write_line(const std::string& line) {
  if (!file_) return;
  const bool ok = std::fputs(line.c_str(), file_) >= 0 && std::fputc('\n', file_) != EOF && std::fflush(file_) == 0;
  SQ_CHECK(ok, "cannot write metrics to " << path_ << ": " << std::strerror(errno));
}

namespace {
std::string stamped(Json j) {
  j["time"] = unix_time_s();
  return j.dump();
}
}  // namespace

void MetricsWriter::write(const StepMetrics& m) {
  write_line(stamped(to_json(m)));
}
void MetricsWriter::write(const EpochMetrics& m) {
  write_line(stamped(to_json(m)));
}
void MetricsWriter::write(const StageSummary& m) {
  write_line(stamped(to_json(m)));
}

void MetricsWriter::write_event(const std::string& event, std::int64_t global_step, const EventFields& fields) {
  Json j = {{"kind", "event"}, {"event", event}, {"global_step", global_step}};
  for (const auto& [key, value] : fields) {
    std::visit(
        [&, &key = key](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, double>) {
            j[key] = number(v);
          } else {
            j[key] = v;
          }
        },
        value);
  }
  write_line(stamped(std::move(j)));
}

std::int64_t truncate_metrics(const std::string& path, std::int64_t global_step, bool redo_epoch_end) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    SQ_CHECK(errno == ENOENT, "cannot read metrics file " << path << ": " << std::strerror(errno));
    return 0;
  }
  std::string text;
  char buffer[1 << 16];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  const bool read_ok = std::ferror(file) == 0;
  std::fclose(file);
  SQ_CHECK(read_ok, "cannot read metrics file " << path);

  // Keep whole lines up to the first one written after `global_step` (the file is in step order: every resume
  // cuts it back before appending) or the first unparsable one at the end.
  std::size_t keep = 0;
  std::int64_t lines = 0, removed = 0;
  bool cut = false;
  for (std::size_t begin = 0; begin < text.size();) {
    const std::size_t newline = text.find('\n', begin);
    const bool complete = newline != std::string::npos;
    const std::size_t end = complete ? newline : text.size();
    ++lines;
    if (!cut) {
      const Json j = Json::parse(text.begin() + static_cast<std::ptrdiff_t>(begin),
                                 text.begin() + static_cast<std::ptrdiff_t>(end), nullptr, /*allow_exceptions=*/false);
      const bool broken_tail = (!complete || j.is_discarded()) && text.find('\n', end + 1) == std::string::npos;
      const std::int64_t at = line_global_step(j);
      const bool redone = redo_epoch_end && at == global_step && j.is_object() &&
                          (j.value("kind", "") == "epoch" || j.value("kind", "") == "stage");
      if (broken_tail || at > global_step || redone) {
        cut = true;
      } else {
        keep = complete ? newline + 1 : end;
      }
    }
    if (cut) ++removed;
    begin = complete ? newline + 1 : text.size();
  }
  if (keep == text.size()) return 0;
  write_file_atomically(path, [&](int fd) { write_all(fd, text.data(), keep, path); });
  return removed;
}

std::string format_stage_table(const std::vector<StageSummary>& stages) {
  std::ostringstream out;
  out << std::left << std::setw(6) << "stage" << std::right << std::setw(7) << "ratio" << std::setw(9) << "steps"
      << std::setw(8) << "epochs" << std::setw(12) << "train loss" << std::setw(13) << "train err %" << std::setw(18)
      << "test err % (q)" << std::setw(18) << "test err % (hyb)" << std::setw(18) << "best test err (q)"
      << std::setw(11) << "time"
      << "\n";
  for (const StageSummary& s : stages) {
    out << std::left << std::setw(6) << (s.stage + 1) << std::right << std::setw(7) << fixed(s.ratio, 3) << std::setw(9)
        << s.steps << std::setw(8) << s.epochs << std::setw(12) << fixed(s.train_loss, 4) << std::setw(13)
        << fixed(s.train_error, 2) << std::setw(18) << fixed(s.test_error_quantized, 2) << std::setw(18)
        << fixed(s.test_error_hybrid, 2) << std::setw(18) << fixed(s.best_test_error_quantized, 2) << std::setw(11)
        << format_duration(s.wall_s) << "\n";
  }
  return out.str();
}

}  // namespace sq::train
