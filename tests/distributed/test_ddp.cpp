// DistributedDataParallel on Gloo over loopback, two ranks as two threads of
// this test, each with its own process group: the result must equal one
// process training on the whole batch.
#include "distributed/distributed_data_parallel.h"
#include "distributed/network.h"
#include "distributed_train/distributed_eval.h"
#include "models/model_factory.h"
#include "train/config.h"
#include "train/fast_path.h"
#include "train/optimizer.h"

#include "build_config.h"
#include "rank_threads.h"

#include <gtest/gtest.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <thread>

using namespace tutorial;
using tutorial::testdata::expect_same_parameters;
using tutorial::testdata::run_ranks;

namespace {

struct Batches {
  std::vector<torch::Tensor> images, labels;
};

Batches random_batches(int64_t steps, int64_t batch, ImageShape shape, int64_t classes) {
  torch::manual_seed(42);
  Batches b;
  for (int64_t i = 0; i < steps; ++i) {
    b.images.push_back(torch::randn({batch, shape.channels, shape.height, shape.width}));
    b.labels.push_back(torch::randint(0, classes, {batch}, torch::kLong));
  }
  return b;
}

// The same initial model every call.
Classifier seeded_model(const std::string& name, ImageShape shape) {
  torch::manual_seed(0);
  return make_model(name, shape, 4);
}

TrainConfig sgd_config() {
  TrainConfig c;
  c.lr = 0.05;
  c.momentum = 0.9;
  return c;
}

// Trains `model` on whole batches in one process: the reference.
void train_reference(Classifier& model, const Batches& data, int64_t micro_batches) {
  auto sgd = make_sgd(model->parameters(), sgd_config());
  for (size_t step = 0; step < data.images.size(); ++step) {
    sgd.zero_grad();
    // Split as the ranks split it, so BatchNorm sees the same batches.
    auto images = data.images[step].chunk(micro_batches);
    auto labels = data.labels[step].chunk(micro_batches);
    for (int64_t m = 0; m < micro_batches; ++m) {
      auto loss = torch::nn::functional::cross_entropy(model.forward(images[m]), labels[m]);
      (loss / static_cast<double>(micro_batches)).backward();
    }
    sgd.step();
  }
}

// How a step clears the last step's gradients: LibTorch's zero_grad() (in
// place on 1.13, freed on 2.x), or the engine's two ways (train/optimizer.h).
enum class GradientReset { kZeroGrad, kFree, kZeroInPlace };

void reset_gradients(torch::optim::Optimizer& optimizer, GradientReset reset) {
  switch (reset) {
    case GradientReset::kZeroGrad: optimizer.zero_grad(); break;
    case GradientReset::kFree: free_gradients(optimizer); break;
    case GradientReset::kZeroInPlace: zero_gradients_in_place(optimizer); break;
  }
}

// Each rank trains its slice of every batch under DDP; returns the ranks' models.
std::vector<Classifier> train_ddp(const std::string& name, ImageShape shape,
                                  const Classifier& initial, const Batches& data,
                                  int64_t world_size, int64_t accumulation = 1,
                                  GradientReset reset = GradientReset::kZeroGrad) {
  std::vector<Classifier> models;
  for (int64_t rank = 0; rank < world_size; ++rank) {
    torch::manual_seed(100 + static_cast<uint64_t>(rank));  // different starts: DDP must align them
    models.push_back(make_model(name, shape, 4));
  }
  // Rank 0 starts from the reference's initial state.
  {
    torch::NoGradGuard no_grad;
    auto source = initial->named_parameters();
    for (auto& p : models[0]->named_parameters()) p.value().copy_(source[p.key()]);
    auto source_buffers = initial->named_buffers();
    for (auto& b : models[0]->named_buffers()) b.value().copy_(source_buffers[b.key()]);
  }
  run_ranks(world_size, [&](int64_t rank, ProcessGroup& group) {
    auto& model = models[static_cast<size_t>(rank)];
    DistributedDataParallel ddp(model.module(), group);
    auto sgd = make_sgd(model->parameters(), sgd_config());
    auto forward = [&](const torch::Tensor& x) { return model.forward(x); };
    for (size_t step = 0; step < data.images.size(); ++step) {
      auto images = data.images[step].chunk(world_size)[static_cast<size_t>(rank)];
      auto labels = data.labels[step].chunk(world_size)[static_cast<size_t>(rank)];
      auto image_parts = images.chunk(accumulation), label_parts = labels.chunk(accumulation);
      reset_gradients(sgd, reset);
      for (int64_t m = 0; m < accumulation; ++m) {
        auto loss_of = [&] {
          auto out = ddp.forward(forward, image_parts[static_cast<size_t>(m)]);
          return torch::nn::functional::cross_entropy(out, label_parts[static_cast<size_t>(m)]) /
                 static_cast<double>(accumulation);
        };
        if (m + 1 < accumulation) {
          auto no_sync = ddp.no_sync();
          loss_of().backward();
        } else {
          loss_of().backward();
        }
      }
      sgd.step();
    }
  });
  return models;
}

}  // namespace

class Ddp : public testing::Test {
 protected:
  void SetUp() override {
    if (!TUTORIAL_WITH_GLOO) GTEST_SKIP() << "this LibTorch has no Gloo headers";
  }
};

TEST_F(Ddp, TwoRanksEqualOneProcessOnTheWholeBatch) {
  const ImageShape shape{1, 8, 8};
  auto data = random_batches(5, 16, shape, 4);
  auto reference = seeded_model("mlp", shape);
  auto ranks = train_ddp("mlp", shape, seeded_model("mlp", shape), data, 2);
  train_reference(reference, data, 1);
  expect_same_parameters(reference, ranks);
}

TEST_F(Ddp, WithBatchNormTwoRanksEqualOneProcessOnTheSameHalves) {
  // BatchNorm normalises over each rank's own batch (as PyTorch's DDP without
  // SyncBatchNorm), so the reference feeds the same halves through one model.
  const ImageShape shape{3, 8, 8};
  auto data = random_batches(3, 8, shape, 4);
  auto reference = seeded_model("resnet20", shape);
  auto ranks = train_ddp("resnet20", shape, seeded_model("resnet20", shape), data, 2);
  train_reference(reference, data, 2);
  expect_same_parameters(reference, ranks);
}

TEST_F(Ddp, NoSyncAccumulationEqualsTheUnaccumulatedRun) {
  const ImageShape shape{1, 8, 8};
  auto data = random_batches(4, 16, shape, 4);
  auto initial = seeded_model("mlp", shape);
  auto plain = train_ddp("mlp", shape, initial, data, 2, /*accumulation=*/1);
  auto accumulated = train_ddp("mlp", shape, initial, data, 2, /*accumulation=*/2);
  expect_same_parameters(plain[0], accumulated);
}

TEST_F(Ddp, GradientsFreedOrZeroedBetweenStepsGiveTheSameTraining) {
  // Gradients live in the buckets: one freed comes back as a new tensor and
  // is copied in; one zeroed in place already is the bucket's slice.
  const ImageShape shape{1, 8, 8};
  auto data = random_batches(4, 16, shape, 4);
  auto reference = seeded_model("mlp", shape);
  train_reference(reference, data, 1);
  for (auto reset : {GradientReset::kFree, GradientReset::kZeroInPlace}) {
    for (int64_t accumulation : {1, 2}) {
      SCOPED_TRACE(testing::Message() << "reset " << static_cast<int>(reset) << ", accumulation "
                                      << accumulation);
      expect_same_parameters(
          reference, train_ddp("mlp", shape, seeded_model("mlp", shape), data, 2, accumulation, reset));
    }
  }
}

TEST_F(Ddp, AfterBackwardEachGradientIsItsSliceOfTheBucket) {
  const ImageShape shape{3, 8, 8};
  run_ranks(2, [&](int64_t, ProcessGroup& group) {
    torch::manual_seed(0);
    auto model = make_model("resnet20", shape, 4);
    convert_to_channels_last(*model.module());  // conv weights keep their strides
    const auto one_bucket = DdpOptions().bucket_cap_mb(25).first_bucket_cap_mb(25);
    DistributedDataParallel ddp(model.module(), group, one_bucket);
    ASSERT_EQ(ddp.num_buckets(), 1);
    auto forward = [&](const torch::Tensor& x) { return model.forward(x); };
    for (int step = 0; step < 2; ++step) {
      auto out = ddp.forward(forward, torch::randn({2, 3, 8, 8}));
      out.sum().backward();
      const auto params = model->parameters();
      for (const auto& p : params) {
        ASSERT_TRUE(p.grad().defined());
        EXPECT_TRUE(p.grad().is_alias_of(params.front().grad())) << "a gradient outside the bucket";
        EXPECT_EQ(p.grad().strides(), p.strides());
      }
      free_gradients(*std::make_unique<ForeachSgd>(params, torch::optim::SGDOptions(0.1)));
    }
  });
}

namespace {

using Accumulators = std::vector<std::shared_ptr<torch::autograd::Node>>;

// A post hook of the test's own, which DDP must leave in place; counts its calls.
class CountingHook : public torch::autograd::FunctionPostHook {
 public:
  explicit CountingHook(std::shared_ptr<int64_t> calls) : calls_(std::move(calls)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    ++*calls_;
    return outputs;
  }

 private:
  std::shared_ptr<int64_t> calls_;
};

std::vector<size_t> post_hook_counts(const Accumulators& accumulators) {
  std::vector<size_t> counts;
  for (const auto& accumulator : accumulators) counts.push_back(accumulator->post_hooks().size());
  return counts;
}

}  // namespace

TEST_F(Ddp, DestroyedItRemovesItsGradientHooksAndBackwardStaysLocal) {
  const ImageShape shape{1, 8, 8};
  std::vector<Classifier> models{seeded_model("mlp", shape), seeded_model("mlp", shape)};
  run_ranks(2, [&](int64_t rank, ProcessGroup& group) {
    auto& model = models[static_cast<size_t>(rank)];
    const auto params = model->parameters();
    // Held, so that before, during and after name the same accumulators.
    Accumulators accumulators;
    auto calls = std::make_shared<int64_t>(0);
    for (const auto& p : params) {
      accumulators.push_back(torch::autograd::impl::grad_accumulator(p));
      accumulators.back()->add_post_hook(std::make_unique<CountingHook>(calls));
    }
    const std::vector<size_t> before = post_hook_counts(accumulators);
    ASSERT_EQ(before, std::vector<size_t>(params.size(), 1));
    // Each rank its own batch: averaged gradients would differ from its own.
    const auto images = torch::linspace(-1, 1, 4 * 64).reshape({4, 1, 8, 8}) * (1.0 + rank);
    const auto labels = torch::tensor({0, 1, 2, 3}, torch::kLong);
    auto loss_of = [&](const torch::Tensor& out) {
      return torch::nn::functional::cross_entropy(out, labels);
    };
    {
      DistributedDataParallel ddp(model.module(), group);
      EXPECT_EQ(post_hook_counts(accumulators), std::vector<size_t>(params.size(), 2));
      auto forward = [&](const torch::Tensor& x) { return model.forward(x); };
      loss_of(ddp.forward(forward, images)).backward();
    }
    EXPECT_EQ(post_hook_counts(accumulators), before) << "a hook of DDP outlived it";
    for (auto p : params) p.mutable_grad() = torch::Tensor();
    const auto local = torch::autograd::grad({loss_of(model.forward(images))}, params);
    const int64_t calls_before = *calls;
    loss_of(model.forward(images)).backward();
    EXPECT_EQ(*calls - calls_before, static_cast<int64_t>(params.size()))
        << "the test's own hook runs once per parameter";
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_TRUE(torch::equal(params[i].grad(), local[i])) << "parameter " << i << " all-reduced";
    }
  });
}

TEST_F(Ddp, EvaluationSumsOverRanks) {
  run_ranks(2, [](int64_t rank, ProcessGroup& group) {
    EvalResult local{rank == 0 ? 2.0 : 4.0, 2 + rank, 30 + rank, 50 + rank};
    auto total = all_reduce(local, group);
    EXPECT_DOUBLE_EQ(total.loss_sum, 6.0);
    EXPECT_EQ(total.batches, 5);
    EXPECT_EQ(total.correct, 61);
    EXPECT_EQ(total.samples, 101);
  });
}

TEST_F(Ddp, BucketsAreSmallFirstThenCapped) {
  run_ranks(1, [](int64_t, ProcessGroup& group) {
    auto model = make_model("resnet56", {3, 32, 32}, 10);  // 3.4 MB of float parameters
    DistributedDataParallel ddp(model.module(), group,
                                DdpOptions().bucket_cap_mb(1).first_bucket_cap_mb(0.25));
    EXPECT_GE(ddp.num_buckets(), 4);
    DistributedDataParallel one(model.module(), group,
                                DdpOptions().bucket_cap_mb(25).first_bucket_cap_mb(25));
    EXPECT_EQ(one.num_buckets(), 1);
  });
}

namespace {

// A model with a layer its forward never uses.
struct WithUnusedLayerImpl : torch::nn::Module {
  WithUnusedLayerImpl()
      : used(register_module("used", torch::nn::Linear(4, 2))),
        unused(register_module("unused", torch::nn::Linear(4, 2))) {}
  torch::Tensor forward(const torch::Tensor& x) { return used->forward(x); }
  torch::nn::Linear used, unused;
};

}  // namespace

TEST_F(Ddp, ParametersWithoutGradientsAreNamedOrToleratedOnRequest) {
  for (const bool find_unused : {false, true}) {
    run_ranks(1, [&](int64_t, ProcessGroup& group) {
      auto model = std::make_shared<WithUnusedLayerImpl>();
      DistributedDataParallel ddp(model, group,
                                  DdpOptions().find_unused_parameters(find_unused));
      auto forward = [&](const torch::Tensor& x) { return model->forward(x); };
      auto loss = ddp.forward(forward, torch::ones({3, 4})).sum();
      if (!find_unused) {
        try {
          loss.backward();
          ADD_FAILURE() << "backward with an unused parameter should fail";
        } catch (const std::exception& e) {
          EXPECT_NE(std::string(e.what()).find("unused.weight"), std::string::npos) << e.what();
        }
      } else {
        loss.backward();
        EXPECT_TRUE(model->used->weight.grad().defined());
        EXPECT_TRUE(torch::equal(model->unused->weight.grad(), torch::zeros({2, 4})));
      }
    });
  }
}
