// Learning-rate schedules: known values at the boundaries, warm-up, parsing and validation.
#include <gtest/gtest.h>

#include <cmath>

#include "sq/core/error.hpp"
#include "sq/train/schedule.hpp"

namespace {

using sq::train::LrSchedule;
using sq::train::ScheduleKind;

TEST(Schedule, StepDecaysEveryStepSize) {
  const LrSchedule s = sq::train::vgg9_paper_schedule();
  EXPECT_DOUBLE_EQ(s.at(0), 0.1);
  EXPECT_DOUBLE_EQ(s.at(14999), 0.1);
  EXPECT_NEAR(s.at(15000), 0.01, 1e-15);
  EXPECT_NEAR(s.at(29999), 0.01, 1e-15);
  EXPECT_NEAR(s.at(30000), 0.001, 1e-15);
  EXPECT_NEAR(s.at(99999), 0.1 * std::pow(0.1, 6), 1e-18);
}

TEST(Schedule, MultistepDecaysAtMilestones) {
  const LrSchedule s = sq::train::resnet56_paper_schedule();
  EXPECT_DOUBLE_EQ(s.at(31999), 0.1);
  EXPECT_NEAR(s.at(32000), 0.01, 1e-15);
  EXPECT_NEAR(s.at(47999), 0.01, 1e-15);
  EXPECT_NEAR(s.at(48000), 0.001, 1e-15);
  EXPECT_NEAR(s.at(63999), 0.001, 1e-15);
}

TEST(Schedule, CosineFromLr0ToMinLr) {
  LrSchedule s;
  s.kind = ScheduleKind::cosine;
  s.lr0 = 0.2;
  s.min_lr = 0.02;
  s.total_iters = 100;
  s.validate();
  EXPECT_DOUBLE_EQ(s.at(0), 0.2);
  EXPECT_NEAR(s.at(50), 0.11, 1e-12);  // halfway: the mean of lr0 and min_lr
  EXPECT_NEAR(s.at(25), 0.02 + 0.18 * 0.5 * (1 + std::sqrt(0.5)), 1e-12);
  EXPECT_NEAR(s.at(100), 0.02, 1e-12);
  EXPECT_NEAR(s.at(1000), 0.02, 1e-12) << "past the end the floor holds";
}

TEST(Schedule, LinearWarmupScalesTheSchedule) {
  LrSchedule s;
  s.kind = ScheduleKind::constant;
  s.lr0 = 0.4;
  s.warmup_iters = 10;
  s.warmup_start = 0.1;
  EXPECT_NEAR(s.at(0), 0.04, 1e-15);
  EXPECT_NEAR(s.at(5), 0.4 * (0.1 + 0.9 * 0.5), 1e-15);
  EXPECT_DOUBLE_EQ(s.at(10), 0.4);
  EXPECT_DOUBLE_EQ(s.at(11), 0.4);
  s.kind = ScheduleKind::step;
  s.step_size = 4;
  s.gamma = 0.5;
  EXPECT_NEAR(s.at(4), 0.2 * (0.1 + 0.9 * 0.4), 1e-15) << "warm-up multiplies the decayed rate";
}

TEST(Schedule, ParsingAndValidation) {
  EXPECT_EQ(sq::train::parse_schedule_kind("cosine"), ScheduleKind::cosine);
  EXPECT_EQ(sq::train::to_string(ScheduleKind::multistep), "multistep");
  EXPECT_THROW(sq::train::parse_schedule_kind("linear"), sq::Error);
  LrSchedule s;
  s.kind = ScheduleKind::multistep;
  s.milestones = {48000, 32000};
  EXPECT_THROW(s.validate(), sq::Error);
  s.kind = ScheduleKind::step;
  s.step_size = 0;
  EXPECT_THROW(s.validate(), sq::Error);
  s.kind = ScheduleKind::cosine;
  s.total_iters = 0;
  EXPECT_THROW(s.validate(), sq::Error);
  s.total_iters = 10;
  s.lr0 = -1.0;
  EXPECT_THROW(s.validate(), sq::Error);
}

}  // namespace
