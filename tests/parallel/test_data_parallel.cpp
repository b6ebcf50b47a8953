// DataParallel (stage 2) with two or more replicas: gradients reach the
// model's parameters, BatchNorm's running statistics are those replica 0
// computed (as Python's nn.DataParallel keeps them), evaluation equals the
// plain model's, and batches smaller than the device count work.
//
// Each test runs on replicas on the CPU (no GPU needed; LibTorch 2.x in CI)
// and on two or three replicas on GPU 0 (skipped without a GPU).
#include "core/device.h"
#include "core/errors.h"
#include "models/model_factory.h"
#include "parallel/data_parallel.h"
#include "pipeline/batch_loader.h"
#include "train/engine.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/sgd.h>

using namespace tutorial;

namespace {

namespace F = torch::nn::functional;

class DataParallel : public testing::TestWithParam<torch::DeviceType> {
 protected:
  void SetUp() override {
    if (!data_parallel_available()) {
      GTEST_SKIP() << "LibTorch's DataParallel (torch/nn/parallel/data_parallel.h) compiles only "
                      "against a CUDA build of LibTorch; CI runs these tests against PyPI's "
                      "LibTorch 2.x on the CPU";
    }
    if (GetParam() == torch::kCUDA && cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  }

  // n replicas: on the CPU, or all on GPU 0 (as --devices 0,0 does).
  std::vector<torch::Device> replicas(size_t n) const {
    return std::vector<torch::Device>(n, torch::Device(GetParam(), GetParam() == torch::kCUDA ? 0 : -1));
  }
  torch::Device device() const { return replicas(1).front(); }
  // cuDNN's convolutions sum in an order of their choosing.
  double tolerance() const { return GetParam() == torch::kCUDA ? 1e-4 : 1e-5; }

  // A model made from a fixed seed: two calls give two equal models.
  Classifier model(const std::string& name, ImageShape shape, int64_t classes) const {
    torch::manual_seed(7);
    auto m = make_model(name, shape, classes);
    m->to(device());
    return m;
  }

  void expect_close(const std::vector<torch::Tensor>& actual,
                    const std::vector<torch::Tensor>& expected, const std::string& what) const {
    ASSERT_EQ(actual.size(), expected.size()) << what;
    for (size_t i = 0; i < actual.size(); ++i) {
      EXPECT_TRUE(torch::allclose(actual[i].to(torch::kDouble), expected[i].to(torch::kDouble),
                                  tolerance(), tolerance()))
          << what << " " << i << " differs by "
          << (actual[i].to(torch::kDouble) - expected[i].to(torch::kDouble)).abs().max().item<double>();
    }
  }
};

torch::Tensor random_images(std::vector<int64_t> shape, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn(shape, generator);
}

torch::Tensor random_labels(int64_t n, int64_t classes, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randint(0, classes, {n}, generator, torch::kLong);
}

}  // namespace

TEST_P(DataParallel, ResNet20sRunningStatisticsAreThoseOfReplicaZero) {
  // The reference does what two replicas do, in one model: each half of the
  // batch is normalised by its own statistics, the outputs joined, one loss,
  // one step; its running statistics are those after the first half.
  auto model = this->model("resnet20", {3, 8, 8}, 10);
  auto reference = this->model("resnet20", {3, 8, 8}, 10);
  const auto initial_mean = model->named_buffers()["bn1.running_mean"].clone();
  const auto initial_var = model->named_buffers()["bn1.running_var"].clone();
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.1));
  torch::optim::SGD reference_sgd(reference->parameters(), torch::optim::SGDOptions(0.1));
  model->train();
  reference->train();

  for (int step = 0; step < 3; ++step) {
    const auto x = random_images({8, 3, 8, 8}, 100 + step).to(device());
    const auto y = random_labels(8, 10, 200 + step).to(device());

    auto loss = F::cross_entropy(data_parallel(model, x, replicas(2)), y);
    sgd.zero_grad();
    loss.backward();
    sgd.step();

    const auto first = reference.forward(x.slice(0, 0, 4));
    std::vector<torch::Tensor> after_first;
    for (const auto& b : reference->buffers()) after_first.push_back(b.clone());
    const auto second = reference.forward(x.slice(0, 4, 8));
    auto reference_loss = F::cross_entropy(torch::cat({first, second}), y);
    reference_sgd.zero_grad();
    reference_loss.backward();
    reference_sgd.step();
    {
      // After backward: it needs the statistics as the forward left them.
      torch::NoGradGuard no_grad;
      auto buffers = reference->buffers();
      for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(after_first[i]);
    }
    EXPECT_NEAR(loss.item<double>(), reference_loss.item<double>(), tolerance()) << "step " << step;
  }

  const auto buffers = model->named_buffers();
  ASSERT_EQ(buffers.size(), 3u * 19u) << "19 BatchNorm layers: mean, variance, batch count";
  EXPECT_FALSE(torch::equal(buffers["bn1.running_mean"], initial_mean)) << "the statistics moved";
  EXPECT_FALSE(torch::equal(buffers["bn1.running_var"], initial_var)) << "the statistics moved";
  EXPECT_EQ(buffers["bn1.num_batches_tracked"].item<int64_t>(), 3);
  expect_close(model->buffers(), reference->buffers(), "buffer");
  expect_close(model->parameters(), reference->parameters(), "parameter");
}

TEST_P(DataParallel, MlpOnSeveralReplicasTrainsAsOneDeviceOnTheWholeBatch) {
  // The loss is computed once, on the gathered outputs: its gradient is the
  // whole batch's, with no rescaling. Uneven splits too: 10 over 3 is 4+4+2.
  for (const auto& [replica_count, batch] : std::vector<std::pair<size_t, int64_t>>{{2, 16}, {3, 10}}) {
    auto model = this->model("mlp", {1, 8, 8}, 4);
    auto single = this->model("mlp", {1, 8, 8}, 4);
    torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
    torch::optim::SGD single_sgd(single->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
    for (int step = 0; step < 5; ++step) {
      const auto x = random_images({batch, 1, 8, 8}, 300 + step).to(device());
      const auto y = random_labels(batch, 4, 400 + step).to(device());
      auto loss = F::cross_entropy(data_parallel(model, x, replicas(replica_count)), y);
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      auto single_loss = F::cross_entropy(single.forward(x), y);
      single_sgd.zero_grad();
      single_loss.backward();
      single_sgd.step();
    }
    SCOPED_TRACE(std::to_string(replica_count) + " replicas, batch " + std::to_string(batch));
    expect_close(model->parameters(), single->parameters(), "parameter");
    EXPECT_FALSE(torch::equal(model->parameters()[0], this->model("mlp", {1, 8, 8}, 4)->parameters()[0]))
        << "the parameters were trained";
  }
}

TEST_P(DataParallel, ABatchSmallerThanTheDeviceCountUsesFewerDevices) {
  // 1 sample on 4 devices uses one, 5 samples use three (2+2+1), as Python's
  // scatter does; LibTorch's own data_parallel fails on them
  // ("Must have as many inputs as modules").
  for (const int64_t batch : {1, 2, 5}) {
    auto model = this->model("mlp", {1, 8, 8}, 4);
    auto single = this->model("mlp", {1, 8, 8}, 4);
    const auto x = random_images({batch, 1, 8, 8}, 500).to(device());
    const auto y = random_labels(batch, 4, 501).to(device());
    const auto output = data_parallel(model, x, replicas(4));
    const auto expected = single.forward(x);
    ASSERT_EQ(output.sizes(), expected.sizes()) << "batch " << batch;
    EXPECT_EQ(output.device(), device());
    F::cross_entropy(output, y).backward();
    F::cross_entropy(expected, y).backward();
    SCOPED_TRACE("batch " + std::to_string(batch));
    expect_close({output.detach()}, {expected.detach()}, "output");
    std::vector<torch::Tensor> grads, expected_grads;
    for (const auto& p : model->parameters()) grads.push_back(p.grad());
    for (const auto& p : single->parameters()) expected_grads.push_back(p.grad());
    expect_close(grads, expected_grads, "gradient");
  }
}

TEST_P(DataParallel, EvaluationEqualsThePlainModelsAndLeavesTheStatisticsAlone) {
  auto model = this->model("resnet20", {3, 8, 8}, 4);
  {
    // Statistics that are not the initial ones, so evaluation has something to use.
    torch::NoGradGuard no_grad;
    for (auto& b : model->buffers()) {
      if (b.is_floating_point()) b.copy_(random_images(b.sizes().vec(), 600).abs() + 0.5);
    }
  }
  ImageDataset data;
  const int64_t n = 21;  // batches of 10, 10 and 1: the last smaller than the device count
  data.images = (random_images({n, 3, 8, 8}, 601).abs() * 60).clamp(0, 255).to(torch::kUInt8);
  data.labels = random_labels(n, 4, 602);
  data.class_names = {"a", "b", "c", "d"};
  BatchLoader loader(data, ShardedSampler(n, SamplerOptions().shuffle(false)),
                     LoaderOptions(10).device(device()).prefetch_batches(0));
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.1));
  auto evaluate = [&](ForwardFn forward) {
    Trainer trainer(*model.module(), std::move(forward), sgd, LrSchedule("constant", 0.1, 1),
                    BatchTransform{}, BatchTransform{}, TrainerOptions{});
    loader.start_epoch(0);
    return trainer.evaluate(loader);
  };
  std::vector<torch::Tensor> before;
  for (const auto& b : model->buffers()) before.push_back(b.clone());

  const EvalResult plain = evaluate([&](const torch::Tensor& x) { return model.forward(x); });
  const EvalResult parallel = evaluate(data_parallel_forward(model, replicas(2)));

  EXPECT_EQ(parallel.samples, n);
  EXPECT_EQ(parallel.batches, 3);
  EXPECT_EQ(parallel.correct, plain.correct);
  EXPECT_NEAR(parallel.loss_sum, plain.loss_sum, tolerance());
  EXPECT_GT(plain.correct, 0) << "a test that some outputs are right";
  expect_close(model->buffers(), before, "buffer");
}

INSTANTIATE_TEST_SUITE_P(Replicas, DataParallel, testing::Values(torch::kCPU, torch::kCUDA),
                         [](const testing::TestParamInfo<torch::DeviceType>& param_info) {
                           return param_info.param == torch::kCPU ? std::string("OnTheCpu")
                                                            : std::string("OnGpu0");
                         });

TEST(DataParallelDevices, OneDeviceIsTheModelsOwnForward) {
  auto model = make_model("mlp", {1, 8, 8}, 4);
  const auto x = random_images({6, 1, 8, 8}, 700);
  EXPECT_TRUE(torch::equal(data_parallel(model, x, {torch::kCPU}), model.forward(x)));
}

TEST(DataParallelDevices, MixedDeviceTypesAreRefused) {
  auto model = make_model("mlp", {1, 8, 8}, 4);
  const std::vector<torch::Device> devices{torch::kCPU, torch::Device(torch::kCUDA, 0)};
  EXPECT_THROW(data_parallel(model, torch::zeros({2, 1, 8, 8}), devices), std::invalid_argument);
}

TEST(DataParallelDevices, WithoutACudaLibTorchSeveralDevicesAreAUserError) {
  if (data_parallel_available()) GTEST_SKIP() << "this LibTorch has DataParallel";
  auto model = make_model("mlp", {1, 8, 8}, 4);
  const std::vector<torch::Device> devices{torch::kCPU, torch::kCPU};
  EXPECT_THROW(data_parallel(model, torch::zeros({2, 1, 8, 8}), devices), UserError);
}
