// The engine's --accumulate-steps and fp16 loss scaling under DDP, two ranks
// as threads on Gloo: accumulating ranks end where one process without
// accumulation ends, only a step's last backward all-reduces (one per
// bucket), and an inf on one rank makes every rank skip the same step.
#include "distributed/distributed_data_parallel.h"
#include "models/model_factory.h"
#include "pipeline/batch_loader.h"
#include "train/engine.h"
#include "train/grad_scaler.h"
#include "train/optimizer.h"

#include "build_config.h"
#include "rank_threads.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <limits>

using namespace tutorial;
using tutorial::testdata::run_ranks;

namespace {

// 256 random 1x8x8 images of 4 classes, the same every call.
ImageDataset random_images() {
  torch::manual_seed(7);
  ImageDataset d;
  d.images = torch::randint(0, 256, {256, 1, 8, 8}, torch::kLong).to(torch::kUInt8);
  d.labels = torch::randint(0, 4, {256}, torch::kLong);
  d.class_names = {"a", "b", "c", "d"};
  return d;
}

TrainConfig sgd_config() {
  TrainConfig c;
  c.lr = 0.05;
  c.momentum = 0.9;
  return c;
}

// One epoch of the MLP through the Trainer with a global batch of 32:
// `world_size` ranks (1: a plain process) with `accumulate_steps`; under DDP
// the trainer switches the all-reduce as the stages do, unless
// `sync_every_backward`. Returns each rank's model and all-reduces launched.
struct RankResult {
  Classifier model{NeuralNetwork(nullptr)};
  int64_t all_reduces = 0, buckets = 0;
};

std::vector<RankResult> train_one_epoch(int64_t world_size, int64_t accumulate_steps,
                                        bool sync_every_backward = false) {
  const auto data = random_images();
  std::vector<RankResult> results(static_cast<size_t>(world_size));
  // Built here, not in the rank threads: those would draw from the one
  // global generator at once, and rank 0's start would not be seed 0's.
  for (auto& result : results) {
    torch::manual_seed(0);
    result.model = make_model("mlp", {1, 8, 8}, 4);
  }
  auto body = [&](int64_t rank, ProcessGroup* group) {
    auto& result = results[static_cast<size_t>(rank)];
    BatchLoader loader(data,
                       ShardedSampler(data.size(), SamplerOptions().seed(3).shard(rank, world_size)),
                       LoaderOptions(32 / world_size));
    auto sgd = make_sgd(result.model->parameters(), sgd_config());
    std::unique_ptr<DistributedDataParallel> ddp;
    if (group) ddp = std::make_unique<DistributedDataParallel>(result.model.module(), *group);
    ForwardFn forward = [&](const torch::Tensor& x) {
      return ddp ? ddp->forward(result.model, x) : result.model.forward(x);
    };
    TrainerOptions options;
    options.log_interval = 1000;
    options.world_size = world_size;
    options.accumulate_steps = accumulate_steps;
    Trainer trainer(*result.model.module(), forward, sgd, LrSchedule("constant", 0.05, 1000),
                    BatchTransform{}, BatchTransform{}, options);
    if (ddp && !sync_every_backward) {
      trainer.set_gradient_sync([&](bool sync) { ddp->require_backward_grad_sync(sync); });
    }
    loader.start_epoch(0);
    trainer.train_epoch(loader);
    if (ddp) {
      result.all_reduces = ddp->all_reduces_launched();
      result.buckets = ddp->num_buckets();
    }
  };
  if (world_size == 1) {
    body(0, nullptr);
  } else {
    run_ranks(world_size, [&](int64_t rank, ProcessGroup& group) { body(rank, &group); });
  }
  return results;
}

std::vector<Classifier> models_of(const std::vector<RankResult>& results) {
  std::vector<Classifier> models;
  for (const auto& r : results) models.push_back(r.model);
  return models;
}

}  // namespace

class DdpAccumulation : public testing::Test {
 protected:
  void SetUp() override {
    if (!TUTORIAL_WITH_GLOO) GTEST_SKIP() << "this LibTorch has no Gloo headers";
  }
};

TEST_F(DdpAccumulation, TwoRanksAccumulatingEndWhereOneProcessWithoutAccumulationEnds) {
  const auto plain = train_one_epoch(1, 1);
  const auto accumulated = train_one_epoch(2, 4);  // micro-batches of 4 samples
  tutorial::testdata::expect_same_parameters(plain[0].model, models_of(accumulated));
}

TEST_F(DdpAccumulation, OnlyAStepsLastBackwardAllReducesOncePerBucket) {
  const int64_t steps = 256 / 32;
  const auto accumulated = train_one_epoch(2, 4);
  for (const auto& rank : accumulated) {
    ASSERT_GT(rank.buckets, 1) << "the MLP should fill more than one bucket";
    EXPECT_EQ(rank.all_reduces, steps * rank.buckets);
  }
  // The count would see an all-reduce per backward: 4 per step.
  const auto syncing = train_one_epoch(2, 4, /*sync_every_backward=*/true);
  for (const auto& rank : syncing) EXPECT_EQ(rank.all_reduces, 4 * steps * rank.buckets);
}

// fp16's scaler under DDP: an inf in rank 1's input alone makes the
// all-reduced gradients non-finite on both ranks, so both skip that step and
// back off alike; the steps before and after are taken by both.
TEST_F(DdpAccumulation, AnInfOnOneRankSkipsTheStepOnEveryRank) {
  constexpr int64_t kSteps = 4, kPoisonedStep = 2;
  std::vector<Classifier> models;
  for (int rank = 0; rank < 2; ++rank) {
    torch::manual_seed(0);
    models.push_back(make_model("mlp", {1, 8, 8}, 4));
  }
  std::vector<std::vector<bool>> stepped(2);
  std::vector<double> scales(2);
  run_ranks(2, [&](int64_t rank, ProcessGroup& group) {
    auto& model = models[static_cast<size_t>(rank)];
    DistributedDataParallel ddp(model.module(), group);
    auto sgd = make_sgd(model->parameters(), sgd_config());
    GradScaler scaler;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(10 + rank);  // this rank's data
    for (int64_t step = 0; step < kSteps; ++step) {
      auto images = torch::rand({8, 1, 8, 8}, generator);
      if (rank == 1 && step == kPoisonedStep) {
        images[0][0][0][0] = std::numeric_limits<float>::infinity();
      }
      free_gradients(sgd);
      auto out = ddp.forward(model, images);
      const auto labels = torch::randint(0, 4, {8}, generator);
      scaler.scale(torch::nn::functional::cross_entropy(out, labels)).backward();
      const auto before = model->parameters()[0].detach().clone();
      stepped[static_cast<size_t>(rank)].push_back(scaler.step(sgd));
      const bool changed = !torch::equal(before, model->parameters()[0]);
      EXPECT_EQ(changed, stepped[static_cast<size_t>(rank)].back())
          << "rank " << rank << " step " << step;
    }
    scales[static_cast<size_t>(rank)] = scaler.current_scale();
  });
  const std::vector<bool> expected = {true, true, false, true};
  EXPECT_EQ(stepped[0], expected);
  EXPECT_EQ(stepped[1], expected);
  EXPECT_EQ(scales[0], 32768.0);
  EXPECT_EQ(scales[1], 32768.0);
  for (const auto& p : models[1]->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), models[0]->named_parameters()[p.key()])) << p.key();
  }
}
