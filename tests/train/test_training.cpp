// The engine trains: on an easy synthetic task the loss falls and accuracy
// passes a stated bar; metrics and the saved model come out right.
#include "core/errors.h"
#include "models/model_factory.h"
#include "pipeline/batch_loader.h"
#include "train/state_dict.h"
#include "train/engine.h"
#include "train/metrics_file.h"
#include "train/optimizer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace tutorial;

namespace {

// Four classes of 1x8x8 images: class k has a bright 4x4 quadrant k, on noise.
ImageDataset quadrant_task(int64_t n, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  ImageDataset d;
  d.labels = torch::randint(0, 4, {n}, gen, torch::kLong);
  auto images = torch::randint(0, 100, {n, 1, 8, 8}, gen, torch::kLong);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = d.labels[i].item<int64_t>();
    images[i].slice(1, (k / 2) * 4, (k / 2) * 4 + 4).slice(2, (k % 2) * 4, (k % 2) * 4 + 4) += 150;
  }
  d.images = images.to(torch::kUInt8);
  d.class_names = {"a", "b", "c", "d"};
  return d;
}

std::filesystem::path fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("tutorial_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

// The MLP on the quadrant task, with its loader, optimizer and trainer.
struct QuadrantRun {
  QuadrantRun(int64_t samples, int64_t batch_size, TrainConfig config, TrainerOptions options)
      : data(quadrant_task(samples, 1)),
        loader(data, ShardedSampler(data.size(), SamplerOptions{true, 0}),
               LoaderOptions{batch_size}),
        model(make_model("mlp", {1, 8, 8}, 4)),
        sgd(make_sgd(model->parameters(), config)),
        trainer(*model.module(), [this](const torch::Tensor& x) { return model.forward(x); }, sgd,
                LrSchedule("constant", config.lr, 1000), BatchTransform{}, BatchTransform{},
                options) {}

  TrainEpochResult train_epoch(int64_t epoch) {
    loader.start_epoch(epoch);
    return trainer.train_epoch(loader);
  }

  ImageDataset data;
  BatchLoader loader;
  Classifier model;
  torch::optim::SGD sgd;
  Trainer trainer;
};

TEST(Training, LossFallsAndAccuracyPassesTheBar) {
  torch::manual_seed(0);
  TrainConfig config;
  config.lr = 0.05;
  config.momentum = 0.9;
  QuadrantRun run(512, 32, config, TrainerOptions{1000, 0, 0, {}});
  auto test = quadrant_task(256, 2);
  BatchLoader test_loader(test, ShardedSampler(test.size(), SamplerOptions{false}),
                          LoaderOptions{64});
  std::vector<double> losses;
  EvalResult result;
  for (int64_t epoch = 0; epoch < 5; ++epoch) {
    losses.push_back(run.train_epoch(epoch).mean_loss);
    test_loader.start_epoch(0);
    result = run.trainer.evaluate(test_loader);
  }
  EXPECT_EQ(run.trainer.step(), 5 * 16);
  EXPECT_LT(losses.back(), losses.front() / 4);
  EXPECT_EQ(result.samples, 256);
  EXPECT_EQ(result.batches, 4);
  EXPECT_GE(result.accuracy(), 0.97);
}

TEST(Training, MaxStepsStopsMidEpoch) {
  QuadrantRun run(256, 16, TrainConfig{}, TrainerOptions{1000, 5, 0, {}});
  auto result = run.train_epoch(0);
  EXPECT_EQ(result.steps, 5);
  EXPECT_EQ(result.samples, 80);
  EXPECT_TRUE(run.trainer.reached_max_steps());
}

TEST(Training, PrintsTheTutorialsLogLines) {
  QuadrantRun run(64, 16, TrainConfig{}, TrainerOptions{2, 0, 0, {}});
  testing::internal::CaptureStdout();
  run.train_epoch(0);
  const auto printed = testing::internal::GetCapturedStdout();
  // Batches 0 and 2 of 4: "loss: 1.386294  [    0/   64]".
  EXPECT_NE(printed.find("]\nloss: "), std::string::npos) << printed;
  EXPECT_NE(printed.find("  [    0/   64]"), std::string::npos) << printed;
  EXPECT_NE(printed.find("  [   32/   64]"), std::string::npos) << printed;
  EvalResult r{3.0, 3, 643, 1000};
  EXPECT_EQ(format_test_result(r), "Test Error: \n Accuracy: 64.3%, Avg loss: 1.000000 \n");
}

TEST(Training, MetricsFileHasOneJsonLinePerEpoch) {
  const auto dir = fresh_dir("metrics");
  {
    MetricsFile metrics((dir / "metrics.jsonl").string());
    metrics.append({1, 938, 1e-3, 2.1, 2.0, 0.41, 9.5, 6300});
    metrics.append({2, 1876, 1e-3, 1.9, 1.8, 0.55, 9.4, 6350});
  }
  std::ifstream in(dir / "metrics.jsonl");
  std::string first, second, third;
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_FALSE(std::getline(in, third));
  EXPECT_EQ(first,
            "{\"epoch\": 1, \"step\": 938, \"lr\": 0.001, \"train_loss\": 2.100000, "
            "\"test_loss\": 2.000000, \"test_accuracy\": 0.410000, \"epoch_seconds\": 9.500, "
            "\"samples_per_second\": 6300.0}");
  EXPECT_NE(second.find("\"epoch\": 2"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Training, SavedModelLoadsBackIdentically) {
  const auto dir = fresh_dir("save");
  torch::manual_seed(1);
  auto model = make_model("resnet20", {3, 32, 32}, 10);
  model.forward(torch::rand({8, 3, 32, 32}));  // moves BatchNorm running statistics
  auto sgd = make_sgd(model->parameters(), TrainConfig{});
  const auto path = save_trained_model(model.module(), sgd, (dir / "out").string());
  EXPECT_EQ(path, (dir / "out" / "model.pth").string());
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "optimizer.pth"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "model.pth.tmp"));

  torch::manual_seed(2);
  auto loaded = make_model("resnet20", {3, 32, 32}, 10);
  load_trained_model(loaded.module(), path);
  auto expected = model->named_parameters();
  for (const auto& p : loaded->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), expected[p.key()])) << p.key();
  }
  auto expected_buffers = model->named_buffers();
  for (const auto& b : loaded->named_buffers()) {
    EXPECT_TRUE(torch::equal(b.value(), expected_buffers[b.key()])) << b.key();
  }
  auto other = make_model("mlp", {3, 32, 32}, 10);
  EXPECT_THROW(load_trained_model(other.module(), path), UserError);
  EXPECT_THROW(load_trained_model(other.module(), (dir / "missing.pth").string()), UserError);
  std::filesystem::remove_all(dir);
}
