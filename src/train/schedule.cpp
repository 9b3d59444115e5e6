// Learning-rate schedules: validation, parsing and lr(iter).
#include "sq/train/schedule.hpp"

#include <algorithm>
#include <cmath>

#include "sq/core/error.hpp"

namespace sq::train {

ScheduleKind parse_schedule_kind(const std::string& name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "step") return ScheduleKind::step;
  if (name == "multistep") return ScheduleKind::multistep;
  if (name == "cosine") return ScheduleKind::cosine;
  SQ_FAIL("unknown learning-rate schedule '" << name << "': use constant, step, multistep or cosine");
}

std::string to_string(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::constant: return "constant";
    case ScheduleKind::step: return "step";
    case ScheduleKind::multistep: return "multistep";
    case ScheduleKind::cosine: return "cosine";
  }
  return "?";
}

void LrSchedule::validate() const {
  SQ_CHECK(lr0 > 0.0 && std::isfinite(lr0), "learning rate lr0 = " << lr0 << " must be positive and finite");
  SQ_CHECK(gamma > 0.0, "schedule gamma = " << gamma << " must be positive");
  SQ_CHECK(warmup_iters >= 0, "warm-up iterations = " << warmup_iters << " must be >= 0");
  SQ_CHECK(warmup_start >= 0.0 && warmup_start <= 1.0, "warm-up start factor " << warmup_start << " must be in [0, 1]");
  switch (kind) {
    case ScheduleKind::constant: break;
    case ScheduleKind::step:
      SQ_CHECK(step_size > 0, "step schedule needs step_size > 0 (got " << step_size << ")");
      break;
    case ScheduleKind::multistep:
      SQ_CHECK(std::is_sorted(milestones.begin(), milestones.end()),
               "multistep milestones must be in increasing order");
      SQ_CHECK(milestones.empty() || milestones.front() >= 0, "multistep milestones must be >= 0");
      break;
    case ScheduleKind::cosine:
      SQ_CHECK(total_iters > 0, "cosine schedule needs total_iters > 0 (got " << total_iters << ")");
      SQ_CHECK(min_lr >= 0.0 && min_lr <= lr0, "cosine min_lr " << min_lr << " must be in [0, lr0]");
      break;
  }
}

double LrSchedule::at(std::int64_t iter) const {
  SQ_CHECK(iter >= 0, "learning rate asked for a negative iteration " << iter);
  double lr = lr0;
  switch (kind) {
    case ScheduleKind::constant: break;
    case ScheduleKind::step:
      SQ_CHECK(step_size > 0, "step schedule needs step_size > 0 (got " << step_size << ")");
      lr = lr0 * std::pow(gamma, static_cast<double>(iter / step_size));
      break;
    case ScheduleKind::multistep: {
      const auto passed = std::upper_bound(milestones.begin(), milestones.end(), iter) - milestones.begin();
      lr = lr0 * std::pow(gamma, static_cast<double>(passed));
      break;
    }
    case ScheduleKind::cosine: {
      SQ_CHECK(total_iters > 0, "cosine schedule needs total_iters > 0 (got " << total_iters << ")");
      const double t = static_cast<double>(std::min(iter, total_iters)) / static_cast<double>(total_iters);
      lr = min_lr + (lr0 - min_lr) * 0.5 * (1.0 + std::cos(M_PI * t));
      break;
    }
  }
  if (iter < warmup_iters) {
    lr *= warmup_start + (1.0 - warmup_start) * static_cast<double>(iter) / static_cast<double>(warmup_iters);
  }
  return lr;
}

LrSchedule vgg9_paper_schedule() {
  LrSchedule s;
  s.kind = ScheduleKind::step;
  s.lr0 = 0.1;
  s.gamma = 0.1;
  s.step_size = 15000;
  return s;
}

LrSchedule resnet56_paper_schedule() {
  LrSchedule s;
  s.kind = ScheduleKind::multistep;
  s.lr0 = 0.1;
  s.gamma = 0.1;
  s.milestones = {32000, 48000};
  return s;
}

}  // namespace sq::train
