// --sync-bn (SyncBatchNorm): two ranks as threads of this test (Gloo on
// loopback), each fed its half of every batch, train as one process does on
// the whole batch with plain BatchNorm, parameters and running statistics
// alike; without it they do not. In eval mode the layers are plain BatchNorm
// on their running statistics.
#include "distributed/distributed_data_parallel.h"
#include "distributed/sync_batch_norm.h"
#include "distributed_train/use_sync_batch_norm.h"
#include "models/model_factory.h"
#include "train/config.h"
#include "train/optimizer.h"

#include "build_config.h"
#include "rank_threads.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

using namespace tutorial;
using tutorial::testdata::expect_same_buffers;
using tutorial::testdata::expect_same_parameters;
using tutorial::testdata::run_ranks;

namespace {

const ImageShape kShape{3, 8, 8};
constexpr int64_t kBatch = 8, kSteps = 3, kClasses = 4;

struct Batches {
  std::vector<torch::Tensor> images, labels;
};

Batches random_batches() {
  torch::manual_seed(42);
  Batches b;
  for (int64_t i = 0; i < kSteps; ++i) {
    // Not centred, so that the ranks' own means differ from the batch's.
    b.images.push_back(torch::randn({kBatch, kShape.channels, kShape.height, kShape.width}) + 0.5);
    b.labels.push_back(torch::randint(0, kClasses, {kBatch}, torch::kLong));
  }
  return b;
}

// The same initial ResNet-20 every call.
Classifier seeded_resnet() {
  torch::manual_seed(0);
  return make_model("resnet20", kShape, kClasses);
}

TrainConfig sgd_config() {
  TrainConfig c;
  c.lr = 0.1;
  c.momentum = 0.9;
  return c;
}

// One process on whole batches, plain BatchNorm: the reference.
Classifier train_one_process(const Batches& data) {
  auto model = seeded_resnet();
  auto sgd = make_sgd(model->parameters(), sgd_config());
  for (size_t step = 0; step < data.images.size(); ++step) {
    sgd.zero_grad();
    torch::nn::functional::cross_entropy(model.forward(data.images[step]), data.labels[step])
        .backward();
    sgd.step();
  }
  return model;
}

// Two ranks under DDP, each on its half of every batch; with --sync-bn's
// layers when `sync`. The returned models are for comparing only: their
// layers name process groups that are gone.
std::vector<Classifier> train_two_ranks(const Batches& data, bool sync) {
  std::vector<Classifier> models{seeded_resnet(), seeded_resnet()};
  run_ranks(2, [&](int64_t rank, ProcessGroup& group) {
    auto& model = models[static_cast<size_t>(rank)];
    if (sync) {
      EXPECT_EQ(use_sync_batch_norm(model, group), 19);
    }
    DistributedDataParallel ddp(model.module(), group);
    auto sgd = make_sgd(model->parameters(), sgd_config());
    for (size_t step = 0; step < data.images.size(); ++step) {
      const auto images = data.images[step].chunk(2)[static_cast<size_t>(rank)];
      const auto labels = data.labels[step].chunk(2)[static_cast<size_t>(rank)];
      sgd.zero_grad();
      torch::nn::functional::cross_entropy(ddp.forward(model, images), labels).backward();
      sgd.step();
    }
  });
  return models;
}

// The largest difference of any floating-point parameter or buffer.
double largest_difference(const Classifier& a, const Classifier& b) {
  double largest = 0;
  auto others = b->named_parameters();
  for (const auto& p : a->named_parameters()) {
    largest = std::max(largest, (p.value() - others[p.key()]).abs().max().item<double>());
  }
  auto other_buffers = b->named_buffers();
  for (const auto& x : a->named_buffers()) {
    if (!x.value().is_floating_point()) continue;
    largest = std::max(largest, (x.value() - other_buffers[x.key()]).abs().max().item<double>());
  }
  return largest;
}

}  // namespace

class SyncBatchNorm : public testing::Test {
 protected:
  void SetUp() override {
    if (!TUTORIAL_WITH_GLOO) GTEST_SKIP() << "this LibTorch has no Gloo headers";
  }
};

TEST_F(SyncBatchNorm, TwoRanksEqualOneProcessOnTheWholeBatch) {
  const auto data = random_batches();
  const auto reference = train_one_process(data);
  const auto ranks = train_two_ranks(data, /*sync=*/true);
  expect_same_parameters(reference, ranks);
  expect_same_buffers(reference, ranks);
  EXPECT_EQ(ranks[0]->named_buffers()["bn1.num_batches_tracked"].item<int64_t>(), kSteps);
}

TEST_F(SyncBatchNorm, WithoutItTheRanksOwnStatisticsDifferFromTheWholeBatch) {
  // The comparison above can fail: plain BatchNorm under DDP normalises each
  // half by its own statistics.
  const auto data = random_batches();
  const auto reference = train_one_process(data);
  const auto ranks = train_two_ranks(data, /*sync=*/false);
  EXPECT_GT(largest_difference(reference, ranks[0]), 1e-3);
}

TEST_F(SyncBatchNorm, OneLayerGradientsAreThoseOfTheWholeBatch) {
  // The layer alone, with a cumulative average (no momentum) and a loss
  // weighting every output differently: each rank's input gradient is its
  // part of the whole batch's, and the ranks' weight and bias gradients add
  // up to the whole batch's.
  const auto options = torch::nn::BatchNormOptions(3).momentum(c10::nullopt);
  torch::manual_seed(1);
  const auto x = torch::randn({6, 3, 4, 5}) * 2 + 1;
  const auto weights = torch::randn({6, 3, 4, 5});
  torch::nn::BatchNorm2d whole(options);
  {
    torch::NoGradGuard no_grad;
    whole->weight.uniform_(0.5, 1.5);
    whole->bias.uniform_(-1, 1);
  }
  std::vector<torch::nn::BatchNorm2d> layers{
      std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(whole->clone()),
      std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(whole->clone())};
  const auto whole_x = x.clone().requires_grad_();
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& p : whole->parameters()) p.mutable_grad() = torch::Tensor();
    (whole->forward(whole_x) * weights).sum().backward();
  }
  std::vector<torch::Tensor> grads(2);
  run_ranks(2, [&](int64_t rank, ProcessGroup& group) {
    auto& layer = *layers[static_cast<size_t>(rank)];
    // Uneven halves: 2 and 4 samples.
    const auto part = rank == 0 ? torch::indexing::Slice(0, 2) : torch::indexing::Slice(2, 6);
    const auto mine = x.index({part}).clone().requires_grad_();
    for (int pass = 0; pass < 2; ++pass) {
      for (auto& p : layer.parameters()) p.mutable_grad() = torch::Tensor();
      (sync_batch_norm(layer, mine, group) * weights.index({part})).sum().backward();
    }
    grads[static_cast<size_t>(rank)] = mine.grad();  // both passes added up
  });
  EXPECT_TRUE(torch::allclose(torch::cat(grads), whole_x.grad(), 1e-4, 1e-5))
      << (torch::cat(grads) - whole_x.grad()).abs().max();
  for (const char* name : {"weight", "bias"}) {
    const auto sum = layers[0]->named_parameters()[name].grad() +
                     layers[1]->named_parameters()[name].grad();
    EXPECT_TRUE(torch::allclose(sum, whole->named_parameters()[name].grad(), 1e-4, 1e-5)) << name;
  }
  for (const auto& layer : layers) {
    for (const char* name : {"running_mean", "running_var"}) {
      EXPECT_TRUE(torch::allclose(layer->named_buffers()[name], whole->named_buffers()[name],
                                  1e-5, 1e-6))
          << name << ": " << layer->named_buffers()[name] << whole->named_buffers()[name];
    }
    EXPECT_EQ(layer->num_batches_tracked.item<int64_t>(), 2);
  }
}

TEST_F(SyncBatchNorm, EvalModeIsPlainBatchNormOnRunningStatistics) {
  // Each rank evaluates its own batch. Had the layers used batch statistics
  // over both ranks (the training path, with its all-reduce), the outputs
  // would differ from plain BatchNorm's; in eval mode they return before any
  // communication. The models are built here: the threads share one random
  // generator.
  std::vector<Classifier> plain{seeded_resnet(), seeded_resnet()};
  std::vector<Classifier> synced{seeded_resnet(), seeded_resnet()};
  {
    torch::NoGradGuard no_grad;  // running statistics other than 0 and 1
    for (size_t r = 0; r < 2; ++r) {
      for (auto& b : plain[r]->named_buffers()) {
        if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.5, 0.5);
        if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2);
      }
      auto source = plain[r]->named_buffers();
      for (auto& b : synced[r]->named_buffers()) b.value().copy_(source[b.key()]);
    }
  }
  const auto x = torch::randn({8, kShape.channels, kShape.height, kShape.width});
  run_ranks(2, [&](int64_t rank, ProcessGroup& group) {
    auto& model = synced[static_cast<size_t>(rank)];
    auto& reference = plain[static_cast<size_t>(rank)];
    use_sync_batch_norm(model, group);
    model->eval();
    reference->eval();
    const auto mine = x.chunk(2)[static_cast<size_t>(rank)];
    for (int i = 0; i < 2; ++i) EXPECT_TRUE(torch::equal(model.forward(mine), reference.forward(mine)));
    expect_same_buffers(reference, std::vector<Classifier>{model});
  });
}

TEST_F(SyncBatchNorm, OneRankIsPlainBatchNorm) {
  run_ranks(1, [&](int64_t, ProcessGroup& group) {
    auto plain = seeded_resnet();
    auto synced = seeded_resnet();
    use_sync_batch_norm(synced, group);
    const auto x = torch::randn({4, kShape.channels, kShape.height, kShape.width});
    EXPECT_TRUE(torch::equal(synced.forward(x), plain.forward(x)));
    expect_same_buffers(plain, std::vector<Classifier>{synced});
  });
}

TEST_F(SyncBatchNorm, AModelWithoutBatchNormHasNothingToSynchronize) {
  run_ranks(1, [&](int64_t, ProcessGroup& group) {
    auto mlp = make_model("mlp", {1, 8, 8}, kClasses);
    EXPECT_EQ(use_sync_batch_norm(mlp, group), 0);
  });
}
