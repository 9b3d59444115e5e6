// Learning-rate schedules (constant, step, multistep, cosine) with an optional linear warm-up: lr as a pure
// function of the iteration inside a stage, computed on the host (a captured step reads it from device memory).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sq::train {

enum class ScheduleKind { constant, step, multistep, cosine };

ScheduleKind parse_schedule_kind(const std::string& name);  // "constant", "step", "multistep", "cosine"
std::string to_string(ScheduleKind kind);

struct LrSchedule {
  ScheduleKind kind = ScheduleKind::multistep;
  double lr0 = 0.1;
  double gamma = 0.1;                    // step / multistep: factor at each decay
  std::int64_t step_size = 0;            // step: decay every step_size iterations (VGG-9: 15000)
  std::vector<std::int64_t> milestones;  // multistep: decay at these iterations (ResNet-56: 32000, 48000)
  std::int64_t total_iters = 0;          // cosine: the length of the half cosine
  double min_lr = 0.0;                   // cosine: the floor reached at total_iters
  std::int64_t warmup_iters = 0;         // linear warm-up over the first warmup_iters iterations (0: none)
  double warmup_start = 0.0;             // warm-up starts at warmup_start * scheduled lr

  // Throws sq::Error on an inconsistent schedule (step_size <= 0 for step, unsorted milestones, ...).
  void validate() const;

  // The learning rate at iteration `iter` (0-based, inside the stage):
  //   constant:  lr0
  //   step:      lr0 * gamma^floor(iter / step_size)
  //   multistep: lr0 * gamma^(number of milestones <= iter)
  //   cosine:    min_lr + (lr0 - min_lr) * (1 + cos(pi * min(iter, total_iters) / total_iters)) / 2
  // then, for iter < warmup_iters, multiplied by warmup_start + (1 - warmup_start) * iter / warmup_iters
  // (Goyal et al. 2017's gradual warm-up, applied on top of the schedule rather than replacing its start).
  double at(std::int64_t iter) const;
};

// Free-function form: schedule(lr0, iter) -> lr with the schedule's other settings.
inline double learning_rate(const LrSchedule& schedule, std::int64_t iter) {
  return schedule.at(iter);
}

// The paper's schedules (SQ_SPEC section 8).
LrSchedule vgg9_paper_schedule();      // lr 0.1, x0.1 every 15k iterations
LrSchedule resnet56_paper_schedule();  // lr 0.1, x0.1 at 32k and 48k

}  // namespace sq::train
