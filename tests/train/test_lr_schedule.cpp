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
