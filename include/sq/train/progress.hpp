// Training progress on the console: a redrawn bar with ETA and images/s on a terminal, plain lines otherwise
// (logs, CI), so redirected output stays readable.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace sq::train {

struct ProgressState {
  int stage = 0;  // 0-based
  int stages = 1;
  double ratio = 1.0;
  std::int64_t epoch = 0;  // 0-based, within the stage
  std::int64_t step = 0;   // steps done within the stage
  std::int64_t stage_steps = 0;
  std::int64_t done = 0;   // steps done in the whole run
  std::int64_t total = 0;  // steps in the whole run
  double lr = 0;
  double loss = 0;
  double images_per_s = 0;
};

class ProgressReporter {
 public:
  // interactive: redraw one line with '\r' (use stdout_is_terminal()); otherwise print a plain line per update.
  ProgressReporter(std::ostream& out, bool interactive);

  // `now_s` is a monotonic clock in seconds (passed in so the ETA is testable); the ETA uses the steps done since
  // the first update, so a resumed run estimates from its own speed.
  void update(const ProgressState& state, double now_s);
  // Ends the redrawn line (before printing anything else on a terminal); a no-op for plain output.
  void break_line();

  // The text of one update, without '\r' or newline.
  static std::string format(const ProgressState& state, double eta_s, bool with_bar);

 private:
  std::ostream& out_;
  bool interactive_;
  bool line_open_ = false;
  bool started_ = false;
  double start_s_ = 0;
  std::int64_t start_done_ = 0;
};

bool stdout_is_terminal();
std::string format_duration(double seconds);  // "1:02:03", "-" when unknown

}  // namespace sq::train
