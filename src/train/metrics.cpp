// JSON-lines metrics writer and the per-stage summary table.
#include "sq/train/metrics.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "sq/core/error.hpp"
#include "sq/train/progress.hpp"

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

std::string fixed(double v, int precision, const char* missing = "-") {
  if (!std::isfinite(v)) return missing;
  std::ostringstream out;
  out << std::fixed << std::setprecision(precision) << v;
  return out.str();
}

}  // namespace

std::string to_json_line(const StepMetrics& m) {
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
  return j.dump();
}

std::string to_json_line(const EpochMetrics& m) {
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
            {"images_per_s", number(m.images_per_s)},
            {"elapsed_s", m.elapsed_s}};
  if (!m.layers.empty()) j["layers"] = layers_json(m.layers);
  return j.dump();
}

std::string to_json_line(const StageSummary& m) {
  Json j = {{"kind", "stage"},
            {"stage", m.stage},
            {"ratio", m.ratio},
            {"steps", m.steps},
            {"epochs", m.epochs},
            {"train_loss", number(m.train_loss)},
            {"train_error", number(m.train_error)},
            {"test_error_quantized", number(m.test_error_quantized)},
            {"test_error_hybrid", number(m.test_error_hybrid)},
            {"best_test_error_quantized", number(m.best_test_error_quantized)},
            {"wall_s", m.wall_s}};
  return j.dump();
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

void MetricsWriter::write(const StepMetrics& m) {
  write_line(to_json_line(m));
}
void MetricsWriter::write(const EpochMetrics& m) {
  write_line(to_json_line(m));
}
void MetricsWriter::write(const StageSummary& m) {
  write_line(to_json_line(m));
}

void MetricsWriter::write_event(const std::string& event, const std::map<std::string, std::string>& fields) {
  Json j = {{"kind", "event"}, {"event", event}};
  for (const auto& [key, value] : fields) j[key] = value;
  write_line(j.dump());
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
