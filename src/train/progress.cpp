// Console progress: bar + ETA + images/s redrawn on a terminal, plain lines when the output is a file or pipe.
#include "sq/train/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace sq::train {

bool stdout_is_terminal() {
  return ::isatty(STDOUT_FILENO) == 1;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-";
  const auto s = static_cast<long long>(seconds + 0.5);
  std::ostringstream out;
  out << s / 3600 << ":" << std::setw(2) << std::setfill('0') << (s / 60) % 60 << ":" << std::setw(2) << s % 60;
  return out.str();
}

ProgressReporter::ProgressReporter(std::ostream& out, bool interactive) : out_(out), interactive_(interactive) {}

std::string ProgressReporter::format(const ProgressState& s, double eta_s, bool with_bar) {
  std::ostringstream out;
  out << "stage " << (s.stage + 1) << "/" << s.stages << " r=" << std::setprecision(4) << s.ratio << " epoch "
      << (s.epoch + 1) << " step " << s.step << "/" << s.stage_steps;
  if (with_bar) {
    constexpr int kWidth = 24;
    const double fraction = s.total > 0 ? std::clamp(static_cast<double>(s.done) / s.total, 0.0, 1.0) : 0.0;
    const int filled = static_cast<int>(fraction * kWidth);
    out << " [" << std::string(static_cast<std::size_t>(filled), '#')
        << std::string(static_cast<std::size_t>(kWidth - filled), '.') << "] " << std::fixed << std::setprecision(1)
        << fraction * 100 << "%";
  }
  out << std::defaultfloat << std::setprecision(4) << " lr " << s.lr << " loss " << std::fixed << std::setprecision(4)
      << s.loss << " " << std::setprecision(0) << s.images_per_s << " img/s ETA " << format_duration(eta_s);
  return out.str();
}

void ProgressReporter::update(const ProgressState& state, double now_s) {
  if (!started_) {
    started_ = true;
    start_s_ = now_s;
    start_done_ = state.done;
  }
  double eta = -1;
  const std::int64_t progressed = state.done - start_done_;
  if (progressed > 0 && now_s > start_s_) {
    eta = (now_s - start_s_) / static_cast<double>(progressed) * static_cast<double>(state.total - state.done);
  }
  if (interactive_) {
    out_ << "\r\033[K" << format(state, eta, true) << std::flush;
    line_open_ = true;
  } else {
    out_ << format(state, eta, false) << "\n" << std::flush;
  }
}

void ProgressReporter::break_line() {
  if (line_open_) {
    out_ << "\n" << std::flush;
    line_open_ = false;
  }
}

}  // namespace sq::train
