// fp16's loss scaling (train/grad_scaler.h), on the CPU with injected
// infinities: a good step unscales exactly and steps; an inf or NaN gradient
// skips the step and halves the scale; growth_interval good steps double it;
// a scaler restored from its state continues as the uninterrupted one; the
// state goes through a checkpoint. (Agreement across ranks: tests/distributed.)
#include "train/checkpoints.h"
#include "train/grad_scaler.h"
#include "train/optimizer.h"
#include "test_files.h"
#include "user_error_assertions.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>

#include <cmath>
#include <limits>

using namespace tutorial;
using tutorial::testdata::throws_user_error;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A small linear model, its SGD and a batch; `poison` (inf, NaN or 0) is
// added to one input, which makes the gradients inf or NaN.
struct Job {
  Job() {
    torch::manual_seed(0);
    model = torch::nn::Linear(4, 3);
    sgd = std::make_unique<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
    inputs = torch::randn({8, 4});
    targets = torch::randn({8, 3});
  }
  torch::Tensor loss(double poison = 0) {
    auto x = inputs.clone();
    x[0][0] += poison;
    return (model->forward(x) - targets).pow(2).mean();
  }
  // One step with `scaler`: zero_grad, scaled backward, scaler.step.
  bool scaled_step(GradScaler& scaler, double poison = 0) {
    sgd->zero_grad();
    scaler.scale(loss(poison)).backward();
    return scaler.step(*sgd);
  }
  torch::Tensor flat_parameters() const {
    std::vector<torch::Tensor> all;
    for (const auto& p : model->parameters()) all.push_back(p.detach().reshape(-1).clone());
    return torch::cat(all);
  }
  torch::nn::Linear model{nullptr};
  std::unique_ptr<torch::optim::SGD> sgd;
  torch::Tensor inputs, targets;
};

}  // namespace

TEST(GradScaler, StartsAtTorchsDefaultScaleAndMultipliesTheLoss) {
  GradScaler scaler;
  EXPECT_EQ(scaler.current_scale(), 65536.0);
  EXPECT_EQ(scaler.scale(torch::tensor(1.5)).item<double>(), 1.5 * 65536.0);
}

TEST(GradScaler, AGoodStepIsExactlyTheUnscaledStep) {
  Job scaled, plain;
  GradScaler scaler;
  EXPECT_TRUE(scaled.scaled_step(scaler));
  plain.sgd->zero_grad();
  plain.loss().backward();
  plain.sgd->step();
  // The scale is a power of two: multiplying and dividing by it is exact.
  EXPECT_TRUE(torch::equal(scaled.flat_parameters(), plain.flat_parameters()));
  EXPECT_EQ(scaler.current_scale(), 65536.0);
  EXPECT_EQ(scaler.state().growth_tracker, 1);
}

TEST(GradScaler, AnInfOrNanGradientSkipsTheStepAndHalvesTheScale) {
  for (const double poison : {kInf, std::nan("")}) {
    Job job;
    GradScaler scaler;
    EXPECT_TRUE(job.scaled_step(scaler));
    const auto before = job.flat_parameters();
    EXPECT_FALSE(job.scaled_step(scaler, poison)) << poison;
    EXPECT_TRUE(torch::equal(job.flat_parameters(), before)) << "the step was taken: " << poison;
    EXPECT_EQ(scaler.current_scale(), 32768.0);
    EXPECT_EQ(scaler.state().growth_tracker, 0) << "good steps count again from 0";
    EXPECT_EQ(scaler.skipped_steps(), 1);
    EXPECT_TRUE(job.scaled_step(scaler)) << "the next good step is taken";
    EXPECT_FALSE(torch::equal(job.flat_parameters(), before));
  }
}

TEST(GradScaler, GrowthIntervalGoodStepsInARowDoubleTheScale) {
  Job job;
  GradScaler scaler(GradScalerOptions().growth_interval(3));
  job.scaled_step(scaler);
  job.scaled_step(scaler);
  EXPECT_EQ(scaler.current_scale(), 65536.0);
  job.scaled_step(scaler, kInf);  // resets the count, halves
  EXPECT_EQ(scaler.current_scale(), 32768.0);
  for (int i = 0; i < 2; ++i) job.scaled_step(scaler);
  EXPECT_EQ(scaler.current_scale(), 32768.0) << "2 good steps since the skip";
  job.scaled_step(scaler);
  EXPECT_EQ(scaler.current_scale(), 65536.0);
  EXPECT_EQ(scaler.state().growth_tracker, 0);
}

TEST(GradScaler, ATooLargeScaleBacksOffUntilTheGradientsFit) {
  // float32 gradients overflow once loss x scale passes ~3e38.
  Job job;
  GradScaler scaler(GradScalerOptions().init_scale(1e39 * 16));
  int skipped = 0;
  while (!job.scaled_step(scaler)) ++skipped;
  EXPECT_GT(skipped, 0);
  EXPECT_LT(scaler.current_scale(), 1e39);
  EXPECT_EQ(scaler.skipped_steps(), skipped);
}

TEST(GradScaler, AScalerRestoredFromItsStateContinuesAsTheUninterruptedOne) {
  const std::vector<double> poisons = {0, 0, kInf, 0, 0, 0, kInf, 0, 0, 0, 0};
  const auto options = GradScalerOptions().growth_interval(2);
  Job whole_job;
  GradScaler whole(options);
  std::vector<double> scales;
  for (const double p : poisons) {
    whole_job.scaled_step(whole, p);
    scales.push_back(whole.current_scale());
  }
  Job job;
  GradScaler first(options);
  for (size_t i = 0; i < 4; ++i) job.scaled_step(first, poisons[i]);
  GradScaler resumed(options);
  resumed.load_state(first.state());
  for (size_t i = 4; i < poisons.size(); ++i) {
    job.scaled_step(resumed, poisons[i]);
    EXPECT_EQ(resumed.current_scale(), scales[i]) << "step " << i;
  }
  EXPECT_TRUE(torch::equal(job.flat_parameters(), whole_job.flat_parameters()));
  // A fresh scaler there would have grown at other steps.
  GradScaler fresh(options);
  Job fresh_job;
  std::vector<double> fresh_scales;
  for (size_t i = 4; i < poisons.size(); ++i) {
    fresh_job.scaled_step(fresh, poisons[i]);
    fresh_scales.push_back(fresh.current_scale());
  }
  EXPECT_NE(fresh_scales, std::vector<double>(scales.begin() + 4, scales.end()));
}

TEST(GradScaler, ACheckpointKeepsTheScalerState) {
  tutorial::testdata::TempDir dir;
  Job job;
  Checkpoints checkpoints(dir / "out", 2, "fingerprint=1\n", /*world_size=*/1, /*global_batch=*/8);
  TrainingPosition position{0, 3, 3, 1.5};
  position.loss_scale = {8192.0, 17};
  checkpoints.save(*job.model, *job.sgd, position);
  const auto resumed = checkpoints.resume("auto", *job.model, *job.sgd);
  EXPECT_EQ(resumed.loss_scale.scale, 8192.0);
  EXPECT_EQ(resumed.loss_scale.growth_tracker, 17);
  // One without a scaler records none.
  checkpoints.save(*job.model, *job.sgd, TrainingPosition{0, 4, 4, 1.5});
  EXPECT_EQ(checkpoints.resume("auto", *job.model, *job.sgd).loss_scale.scale, 0.0);
}

TEST(GradScaler, ACheckpointWithADamagedLossScaleIsRefusedNamingIt) {
  tutorial::testdata::TempDir dir;
  Job job;
  Checkpoints checkpoints(dir / "out", 2, "fingerprint=1\n", /*world_size=*/1, /*global_batch=*/8);
  TrainingPosition position{0, 3, 3, 1.5};
  position.loss_scale = {-4.0, 0};
  const auto path = checkpoints.save(*job.model, *job.sgd, position);
  EXPECT_TRUE(throws_user_error([&] { checkpoints.resume(path, *job.model, *job.sgd); },
                                {path, "not a checkpoint (loss scale -4"}));
}

TEST(GradScaler, ADamagedStateIsRefusedAndAnEmptyOneIgnored) {
  GradScaler scaler;
  scaler.load_state({});  // a checkpoint of a run without a scaler
  EXPECT_EQ(scaler.current_scale(), 65536.0);
  EXPECT_TRUE(throws_user_error([&] { scaler.load_state({-4.0, 0}); }, {"loss scale"}));
  EXPECT_TRUE(throws_user_error([&] { scaler.load_state({kInf, 0}); }, {"loss scale"}));
  EXPECT_TRUE(throws_user_error([&] { scaler.load_state({1024.0, -1}); }, {"loss scale"}));
}
