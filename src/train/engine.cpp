#include "train/engine.h"

#include "core/console.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/loss.h>

#include <chrono>

namespace tutorial {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Trainer::Trainer(torch::nn::Module& model, ForwardFn forward, torch::optim::Optimizer& optimizer,
                 LrSchedule schedule, BatchTransform train_transform,
                 BatchTransform test_transform, TrainerOptions options)
    : model_(model),
      forward_(std::move(forward)),
      optimizer_(optimizer),
      schedule_(std::move(schedule)),
      train_transform_(std::move(train_transform)),
      test_transform_(std::move(test_transform)),
      options_(options),
      augment_generator_(at::make_generator<at::CPUGeneratorImpl>(options.seed)) {}

TrainEpochResult Trainer::train_epoch(BatchLoader& loader) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t dataset_size = loader.dataset().size();
  model_.train();
  TrainEpochResult result;
  torch::Tensor loss_sum;  // stays on the device: no host sync per step
  for (int64_t batch_index = 0; !reached_max_steps(); ++batch_index) {
    auto batch = loader.next();
    if (!batch) break;
    auto images = train_transform_(batch->images, augment_generator_);

    // Compute prediction error
    auto pred = forward_(images);
    auto loss = torch::nn::functional::cross_entropy(pred, batch->labels);

    // Backpropagation
    schedule_.apply(optimizer_, step_);
    optimizer_.zero_grad();
    loss.backward();
    optimizer_.step();
    ++step_;

    loss_sum = loss_sum.defined() ? loss_sum + loss.detach() : loss.detach();
    result.samples += batch->labels.size(0);
    ++result.steps;
    if (batch_index % options_.log_interval == 0) {
      const int64_t current = std::min(
          batch_index * loader.options().batch_size * options_.world_size, dataset_size);
      out() << strprintf("loss: %7f  [%5lld/%5lld]", loss.item<double>(),
                         static_cast<long long>(current), static_cast<long long>(dataset_size))
            << std::endl;
    }
  }
  result.mean_loss = result.steps > 0 ? loss_sum.item<double>() / result.steps : 0;
  result.seconds = seconds_since(start);
  return result;
}

EvalResult Trainer::evaluate(BatchLoader& loader) {
  torch::NoGradGuard no_grad;
  model_.eval();
  EvalResult result;
  torch::Tensor loss_sum, correct;
  while (auto batch = loader.next()) {
    auto images = test_transform_(batch->images, augment_generator_);
    auto pred = forward_(images);
    auto loss = torch::nn::functional::cross_entropy(pred, batch->labels);
    auto hits = pred.argmax(1).eq(batch->labels).sum();
    loss_sum = loss_sum.defined() ? loss_sum + loss : loss;
    correct = correct.defined() ? correct + hits : hits;
    result.samples += batch->labels.size(0);
    ++result.batches;
  }
  if (result.batches > 0) {
    result.loss_sum = loss_sum.item<double>();
    result.correct = correct.item<int64_t>();
  }
  return result;
}

std::string format_test_result(const EvalResult& result) {
  return strprintf("Test Error: \n Accuracy: %0.1f%%, Avg loss: %8f \n", 100.0 * result.accuracy(),
                   result.average_loss());
}

}  // namespace tutorial
