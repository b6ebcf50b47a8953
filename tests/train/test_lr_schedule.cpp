// Learning rate schedules.
#include "train/lr_schedule.h"

#include "core/errors.h"

#include <gtest/gtest.h>
#include <torch/optim/sgd.h>

using tutorial::LrSchedule;

TEST(LrSchedule, Constant) {
  LrSchedule s("constant", 0.1, 100);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(99), 0.1);
}

TEST(LrSchedule, StepDividesByTenAtHalfAndThreeQuarters) {
  LrSchedule s("step", 0.1, 64000);  // He et al.: /10 at 32k and 48k of 64k iterations
  EXPECT_DOUBLE_EQ(s.lr_at(31999), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(32000), 0.1 * 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(47999), 0.1 * 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(48000), 0.1 * 0.01);
}

TEST(LrSchedule, CosineGoesFromBaseToZero) {
  LrSchedule s("cosine", 0.2, 100);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.2);
  EXPECT_NEAR(s.lr_at(50), 0.1, 1e-12);
  EXPECT_NEAR(s.lr_at(100), 0.0, 1e-12);
  EXPECT_GT(s.lr_at(25), s.lr_at(26));
}

TEST(LrSchedule, AppliesToEveryParameterGroup) {
  auto w = torch::zeros({2}, torch::requires_grad());
  torch::optim::SGD sgd({w}, torch::optim::SGDOptions(1.0));
  LrSchedule("step", 1.0, 10).apply(sgd, 6);
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::SGDOptions&>(sgd.param_groups()[0].options()).lr(),
                   0.1);
}

TEST(LrSchedule, UnknownKindIsAUserError) {
  EXPECT_THROW(LrSchedule("linear", 0.1, 10), tutorial::UserError);
}

TEST(LrSchedule, WarmUpRisesLinearlyThenTheScheduleRunsOverTheRest) {
  LrSchedule s("cosine", 0.4, 110, /*warmup_steps=*/10);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.04);
  EXPECT_DOUBLE_EQ(s.lr_at(4), 0.2);
  EXPECT_DOUBLE_EQ(s.lr_at(9), 0.4);
  EXPECT_DOUBLE_EQ(s.lr_at(10), 0.4);              // the cosine's start
  EXPECT_NEAR(s.lr_at(60), 0.2, 1e-12);            // its middle: 50 of its 100 steps
  EXPECT_NEAR(s.lr_at(110), 0.0, 1e-12);
  LrSchedule step("step", 1.0, 30, 10);            // /10 at 50% of the 20 steps after warm-up
  EXPECT_DOUBLE_EQ(step.lr_at(19), 1.0);
  EXPECT_DOUBLE_EQ(step.lr_at(20), 0.1);
  EXPECT_DOUBLE_EQ(LrSchedule("constant", 0.1, 5, 0).lr_at(0), 0.1);  // no warm-up: as before
}
