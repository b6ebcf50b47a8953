// Checkpoints in-process: training stopped at a step, checkpointed, and
// continued by a fresh model, optimizer and trainer from the checkpoint ends
// bitwise where uninterrupted training ends, augmentation and momentum
// included; what a checkpoint holds; how many are kept.
#include "core/errors.h"
#include "models/model_factory.h"
#include "pipeline/batch_loader.h"
#include "test_files.h"
#include "train/checkpoints.h"
#include "train/engine.h"
#include "train/optimizer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

using namespace tutorial;
using tutorial::testdata::TempDir;

namespace {

ImageDataset small_cifar() {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
  ImageDataset d;
  d.images = torch::randint(0, 256, {96, 3, 32, 32}, generator, torch::kLong).to(torch::kUInt8);
  d.labels = torch::randint(0, 10, {96}, generator, torch::kLong);
  for (int i = 0; i < 10; ++i) d.class_names.push_back(std::to_string(i));
  return d;
}

TrainConfig sgd_config() {
  TrainConfig config;
  config.model = "resnet20";
  config.dataset = "cifar10";
  config.batch_size = 16;
  config.epochs = 2;
  config.lr = 0.05;
  config.momentum = 0.9;  // optimizer state that must survive
  config.augment = "on";  // random draws that must repeat
  return config;
}

// Model, optimizer, loader and trainer as a stage builds them.
struct TrainingRun {
  explicit TrainingRun(const ImageDataset& data)
      : config(sgd_config()),
        model((torch::manual_seed(0), make_model("resnet20", {3, 32, 32}, 10))),
        sgd(make_sgd(model->parameters(), config)),
        loader(data, ShardedSampler(data.size(), SamplerOptions()),
               LoaderOptions(16).prefetch_batches(0)),
        trainer(*model.module(), [this](const torch::Tensor& x) { return model.forward(x); }, sgd,
                LrSchedule("step", config.lr, 12), augmenting(), augmenting(),
                TrainerOptions{1000, 0, 3, {}}) {}

  static BatchTransform augmenting() {
    BatchTransform t;
    t.augment = true;
    return t;
  }

  // Trains from `from` until `until_step` (or the end of epoch 2).
  void train(TrainingPosition from, int64_t until_step) {
    trainer.resume_from(from);
    trainer.set_step_hook([&](const TrainingPosition& at) { return at.step >= until_step; });
    for (int64_t epoch = from.epoch; epoch < 2; ++epoch) {
      loader.start_epoch(epoch, epoch == from.epoch ? from.batch : 0);
      const auto result = trainer.train_epoch(loader);
      if (result.stopped && loader.position() < loader.num_batches()) return;
      epoch_mean_loss[epoch] = result.mean_loss;
      if (result.stopped) return;
    }
  }

  TrainConfig config;
  Classifier model;
  ForeachSgd sgd;
  BatchLoader loader;
  Trainer trainer;
  std::map<int64_t, double> epoch_mean_loss;  // of each epoch trained to its end
};

}  // namespace

TEST(Checkpoints, ContinuingFromOneEndsBitwiseWhereUninterruptedTrainingEnds) {
  const ImageDataset data = small_cifar();
  TempDir dir;
  TrainingRun whole(data);
  whole.train({}, 1000);
  ASSERT_EQ(whole.trainer.step(), 12);

  for (int64_t stop_at : {3, 6, 8}) {  // mid-epoch, at an epoch's end, in the second epoch
    TrainingRun first(data);
    first.train({}, stop_at);
    Checkpoints checkpoints(dir / ("run" + std::to_string(stop_at)), 2,
                            resume_fingerprint(first.config), 1,
                            first.config.batch_size);
    checkpoints.save(*first.model.module(), first.sgd, first.trainer.position(first.loader));

    TrainingRun second(data);  // fresh: another initialisation, no optimizer state
    testing::internal::CaptureStdout();
    const TrainingPosition from = checkpoints.resume("auto", *second.model.module(), second.sgd);
    testing::internal::GetCapturedStdout();
    EXPECT_EQ(from.step, stop_at);
    EXPECT_EQ(from.epoch * 6 + from.batch, stop_at) << "6 batches per epoch";
    second.train(from, 1000);
    EXPECT_EQ(second.trainer.step(), 12);
    auto expected = whole.model->named_parameters();
    for (const auto& p : second.model->named_parameters()) {
      EXPECT_TRUE(torch::equal(p.value(), expected[p.key()])) << "stopped at " << stop_at << ": "
                                                               << p.key();
    }
    auto expected_buffers = whole.model->named_buffers();
    for (const auto& b : second.model->named_buffers()) {
      EXPECT_TRUE(torch::equal(b.value(), expected_buffers[b.key()])) << b.key();
    }
    // The resumed epoch's mean loss covers its batches before the checkpoint too.
    ASSERT_FALSE(second.epoch_mean_loss.empty());
    for (const auto& [epoch, mean_loss] : second.epoch_mean_loss) {
      EXPECT_NEAR(mean_loss, whole.epoch_mean_loss.at(epoch), 1e-6 * whole.epoch_mean_loss.at(epoch))
          << "stopped at " << stop_at << ", epoch " << epoch;
    }
  }
}

TEST(Checkpoints, KeepsTheNewestAndNamesThemByStep) {
  TempDir dir;
  auto model = make_model("mlp", {1, 28, 28}, 10);
  auto sgd = make_sgd(model->parameters(), TrainConfig{});
  Checkpoints checkpoints(dir / "out", 2, resume_fingerprint(TrainConfig{}), 1, 64);
  for (int64_t step : {5, 10, 15}) checkpoints.save(*model.module(), sgd, {0, step, step});
  const auto files = checkpoints.files();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].filename(), "step-000000010.pt");
  EXPECT_EQ(files[1].filename(), "step-000000015.pt");
  EXPECT_THROW(Checkpoints(dir / "out", 0, "", 1, 64), UserError);
}

// A checkpoint of 2 ranks resumes on 1, saying so; its position counts
// global batches, so one read by a run of other batches (a fingerprint that
// does not hold the batch size, here) is refused.
TEST(Checkpoints, OneOfTwoRanksResumesOnOneSayingSoAndItsBatchesAreGlobalOnes) {
  TempDir dir;
  auto model = make_model("mlp", {1, 28, 28}, 10);
  auto sgd = make_sgd(model->parameters(), TrainConfig{});
  const std::string fingerprint = resume_fingerprint(TrainConfig{});
  const auto path =
      Checkpoints(dir / "out", 2, fingerprint, 2, 64).save(*model.module(), sgd, {0, 5, 5});
  const auto resume = [&](int64_t world_size, int64_t global_batch, const std::string& with) {
    testing::internal::CaptureStdout();
    try {
      const auto position =
          Checkpoints(dir / "out", 2, with, world_size, global_batch).resume(path, *model.module(), sgd);
      EXPECT_EQ(position.batch, 5);
    } catch (...) {
      testing::internal::GetCapturedStdout();
      throw;
    }
    return testing::internal::GetCapturedStdout();
  };
  const std::string on_one = resume(1, 64, fingerprint);
  EXPECT_NE(on_one.find("\nResuming a 2-rank checkpoint on 1 rank: the global batch of 64 stays, "
                        "64 per rank\n"),
            std::string::npos)
      << on_one;
  const std::string on_two = resume(2, 64, fingerprint);
  EXPECT_EQ(on_two.find("-rank checkpoint"), std::string::npos) << on_two;
  try {
    resume(2, 32, "");
    ADD_FAILURE() << "a checkpoint of batches of 64 resumed in batches of 32";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("not a checkpoint of batches of 32 (batch 5 at sample 320)"),
              std::string::npos)
        << e.what();
  }
}

TEST(Checkpoints, ResumeNoneAndAnEmptyFolderStartAtTheBeginning) {
  TempDir dir;
  auto model = make_model("mlp", {1, 28, 28}, 10);
  auto sgd = make_sgd(model->parameters(), TrainConfig{});
  Checkpoints checkpoints(dir / "out", 2, resume_fingerprint(TrainConfig{}), 1, 64);
  EXPECT_EQ(checkpoints.resume("auto", *model.module(), sgd).step, 0);
  checkpoints.save(*model.module(), sgd, {1, 2, 3});
  EXPECT_EQ(checkpoints.resume("none", *model.module(), sgd).step, 0);
}

TEST(Checkpoints, ResumingRestoresTheRandomGeneratorsCpuAndCuda) {
  TempDir dir;
  auto model = make_model("mlp", {1, 28, 28}, 10);
  auto sgd = make_sgd(model->parameters(), TrainConfig{});
  Checkpoints checkpoints(dir / "out", 2, resume_fingerprint(TrainConfig{}), 1, 64);
  const bool gpu = torch::cuda::is_available();
  const auto path = checkpoints.save(*model.module(), sgd, {0, 1, 1});
  const auto cpu_draw = torch::rand({4});
  const auto cuda_draw = gpu ? torch::rand({4}, torch::kCUDA).cpu() : torch::Tensor();
  torch::rand({100});  // the generators move on
  if (gpu) torch::rand({100}, torch::kCUDA);
  checkpoints.resume(path, *model.module(), sgd);
  EXPECT_TRUE(torch::equal(torch::rand({4}), cpu_draw));
  if (gpu) {
    EXPECT_TRUE(torch::equal(torch::rand({4}, torch::kCUDA).cpu(), cuda_draw));
  }
}
