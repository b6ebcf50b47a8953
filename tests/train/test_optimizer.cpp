// ForeachSgd (train/optimizer.h) against LibTorch's own torch::optim::SGD.
#include "train/optimizer.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/serialize.h>

#include <cmath>
#include <sstream>
#include <vector>

using tutorial::ForeachSgd;

namespace {

// Parameters of several shapes; the last never gets a gradient (a frozen
// layer), which both optimizers must leave alone.
std::vector<torch::Tensor> make_parameters(torch::Device device = torch::kCPU) {
  torch::manual_seed(7);
  std::vector<torch::Tensor> parameters;
  for (auto shape : std::vector<std::vector<int64_t>>{{16, 3, 3, 3}, {16}, {10, 64}, {10}, {5}}) {
    parameters.push_back(torch::randn(shape).to(device).requires_grad_());
  }
  return parameters;
}

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> result;
  for (const auto& p : parameters) result.push_back(p.detach().clone().requires_grad_());
  return result;
}

// Each step: fresh gradients (the same for both), then the optimizer's step.
void train(torch::optim::Optimizer& optimizer, std::vector<torch::Tensor>& parameters, int steps) {
  for (int step = 0; step < steps; ++step) {
    for (size_t i = 0; i + 1 < parameters.size(); ++i) {
      torch::manual_seed(static_cast<uint64_t>(100 * step) + i);
      parameters[i].mutable_grad() = torch::randn_like(parameters[i]);
    }
    optimizer.step();
  }
}

// The same kernels in the same order on the CPU: bit for bit. On a GPU the
// multi-tensor kernels are others than the per-tensor ones: within float
// rounding.
void expect_equal(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].is_cuda()) {
      EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-6, 1e-6)) << "parameter " << i;
    } else {
      EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
    }
  }
}

// The same parameters, one copy under torch::optim::SGD and one under ForeachSgd.
struct SideBySide {
  explicit SideBySide(const torch::optim::SGDOptions& options,
                      torch::Device device = torch::kCPU)
      : reference_parameters(make_parameters(device)),
        foreach_parameters(copies(reference_parameters)),
        reference(reference_parameters, options),
        foreach_sgd(foreach_parameters, options) {}

  void train_both(int steps) {
    train(reference, reference_parameters, steps);
    train(foreach_sgd, foreach_parameters, steps);
  }

  std::vector<torch::Tensor> reference_parameters, foreach_parameters;
  torch::optim::SGD reference;
  ForeachSgd foreach_sgd;
};

void expect_same_steps(const torch::optim::SGDOptions& options) {
  SideBySide runs(options);
  runs.train_both(5);
  expect_equal(runs.reference_parameters, runs.foreach_parameters);
  EXPECT_FALSE(torch::equal(runs.reference_parameters[0], make_parameters()[0]))
      << "nothing trained";
  EXPECT_TRUE(torch::equal(runs.foreach_parameters.back(), make_parameters().back()))
      << "a parameter without a gradient moved";
}

}  // namespace

TEST(ForeachSgd, StepsAsLibTorchsSgdPlain) { expect_same_steps(torch::optim::SGDOptions(0.1)); }

TEST(ForeachSgd, StepsAsLibTorchsSgdWithMomentumAndWeightDecay) {
  expect_same_steps(torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(5e-4));
}

TEST(ForeachSgd, StepsAsLibTorchsSgdWithNesterov) {
  expect_same_steps(torch::optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-4));
}

TEST(ForeachSgd, StepsAsLibTorchsSgdWithDampening) {
  expect_same_steps(torch::optim::SGDOptions(0.05).momentum(0.5).dampening(0.3));
}

// Its momentum buffers are LibTorch's: saved from one, they continue in the other.
TEST(ForeachSgd, SharesLibTorchsSgdStateFormat) {
  const auto options = torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(5e-4);
  SideBySide runs(options);
  runs.train_both(3);

  std::stringstream saved_by_foreach;
  torch::save(runs.foreach_sgd, saved_by_foreach);
  auto resumed_parameters = copies(runs.foreach_parameters);
  torch::optim::SGD resumed(resumed_parameters, options);
  torch::load(resumed, saved_by_foreach);
  train(resumed, resumed_parameters, 2);
  train(runs.reference, runs.reference_parameters, 2);
  expect_equal(runs.reference_parameters, resumed_parameters);
}

TEST(ForeachSgdCuda, StepsAsLibTorchsSgdOnTheGpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  SideBySide runs(torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(5e-4),
                  torch::kCUDA);
  runs.train_both(5);
  expect_equal(runs.reference_parameters, runs.foreach_parameters);
  EXPECT_FALSE(torch::allclose(runs.foreach_parameters[0].cpu(), make_parameters()[0]))
      << "nothing trained";
}

// --cuda-graph's optimizer: the rate read from a device tensor, changed every
// step as a cosine schedule does, steps as the eager update within rounding,
// and a rate written to the options reaches the step only through
// load_lr_to_device (a captured step cannot see the options).
void expect_lr_on_device_steps_as_eager(torch::Device device) {
  const auto options = torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(5e-4);
  SideBySide runs(options, device);
  runs.foreach_sgd.hold_lr_on_device(device);
  ASSERT_TRUE(runs.foreach_sgd.holds_lr_on_device());
  for (int step = 0; step < 6; ++step) {
    const double lr = 0.1 * (1.0 + std::cos(M_PI * step / 6.0)) / 2.0;
    for (auto* sgd : std::initializer_list<torch::optim::Optimizer*>{&runs.reference, &runs.foreach_sgd}) {
      static_cast<torch::optim::SGDOptions&>(sgd->param_groups()[0].options()).lr(lr);
    }
    runs.foreach_sgd.load_lr_to_device();
    train(runs.reference, runs.reference_parameters, 1);
    train(runs.foreach_sgd, runs.foreach_parameters, 1);
  }
  for (size_t i = 0; i < runs.reference_parameters.size(); ++i) {
    EXPECT_TRUE(torch::allclose(runs.reference_parameters[i], runs.foreach_parameters[i], 1e-5, 1e-6))
        << "parameter " << i << " differs by "
        << (runs.reference_parameters[i] - runs.foreach_parameters[i]).abs().max().item<double>();
  }
  // Options changed but not loaded: the step still uses the loaded rate.
  auto before = copies(runs.foreach_parameters);
  static_cast<torch::optim::SGDOptions&>(runs.foreach_sgd.param_groups()[0].options()).lr(0.0);
  train(runs.foreach_sgd, runs.foreach_parameters, 1);
  EXPECT_FALSE(torch::equal(before[0], runs.foreach_parameters[0]));
  runs.foreach_sgd.load_lr_to_device();
  before = copies(runs.foreach_parameters);
  for (auto& p : runs.foreach_parameters) p.mutable_grad() = torch::zeros_like(p);
  // lr 0 and zero gradients: only the momentum term could move them, and lr 0 scales it away.
  runs.foreach_sgd.step();
  expect_equal(before, runs.foreach_parameters);
}

TEST(ForeachSgd, WithTheRateOnTheDeviceStepsAsTheEagerUpdate) {
  expect_lr_on_device_steps_as_eager(torch::kCPU);
}

TEST(ForeachSgdCuda, WithTheRateOnTheDeviceStepsAsTheEagerUpdateOnTheGpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  expect_lr_on_device_steps_as_eager(torch::kCUDA);
}

TEST(ZeroGradientsInPlace, ZeroesEachGradientWhereItIs) {
  auto parameters = make_parameters();
  torch::optim::SGD sgd(parameters, torch::optim::SGDOptions(0.1));
  std::vector<const void*> addresses;
  for (size_t i = 0; i + 1 < parameters.size(); ++i) {
    parameters[i].mutable_grad() = torch::ones_like(parameters[i]);
    addresses.push_back(parameters[i].grad().data_ptr());
  }
  tutorial::zero_gradients_in_place(sgd);
  for (size_t i = 0; i + 1 < parameters.size(); ++i) {
    EXPECT_EQ(parameters[i].grad().data_ptr(), addresses[i]);
    EXPECT_EQ(parameters[i].grad().abs().sum().item<double>(), 0.0);
  }
  EXPECT_FALSE(parameters.back().grad().defined());
}

TEST(FreeGradients, LeavesEveryParameterWithoutAGradient) {
  auto parameters = make_parameters();
  torch::optim::SGD sgd(parameters, torch::optim::SGDOptions(0.1));
  for (size_t i = 0; i + 1 < parameters.size(); ++i) {
    parameters[i].mutable_grad() = torch::ones_like(parameters[i]);
  }
  tutorial::free_gradients(sgd);
  for (const auto& p : parameters) EXPECT_FALSE(p.grad().defined());
}
