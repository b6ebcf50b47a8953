#include "train/engine.h"

#include "core/console.h"
#include "core/cpu_features.h"
#include "core/device.h"
#include "train/fast_path.h"
#include "train/optimizer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/loss.h>

#include <chrono>

namespace tutorial {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The augmentation generator's seed for a step: a function of the run's
// seed and the step alone (splitmix64), so a resumed run draws what the
// uninterrupted one would have drawn, with no generator state to save.
uint64_t step_seed(uint64_t seed, int64_t step) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(step) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

TrainerOptions trainer_options(const TrainConfig& config, int64_t rank, int64_t world_size) {
  TrainerOptions options;
  options.log_interval = config.log_interval;
  options.max_steps = config.max_steps;
  options.seed = config.seed + static_cast<uint64_t>(rank);
  options.fast_path = config.fast_path;
  options.world_size = world_size;
  options.epochs = config.epochs;
  options.progress = config.progress && stdout_is_interactive();
  options.label_smoothing = config.label_smoothing;
  options.accumulate_steps = config.accumulate_steps;
  return options;
}

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
      augment_generator_(at::make_generator<at::CPUGeneratorImpl>(options.seed)),
      device_(device_of(model)),
      progress_(out(), options.progress) {
  if (needs_loss_scaling(options_.fast_path)) scaler_ = std::make_unique<GradScaler>();
  if (options_.fast_path.amp && !scaler_) {
    const std::string slowdown = amp_slowdown_reason(device_, this_cpu_flags());
    if (!slowdown.empty()) {
      out() << "--amp: " << slowdown << "; training in bf16 as asked" << std::endl;
    }
  }
  if (options_.fast_path.cuda_graph) {
    foreach_sgd_ = dynamic_cast<ForeachSgd*>(&optimizer_);
    const std::string reason = cuda_graph_unavailable_reason(
        device_, schedule_.kind(), options_.world_size, foreach_sgd_ != nullptr, scaler_ != nullptr);
    if (reason.empty()) {
      // The captured step reads the rate from the device: every schedule replays.
      if (foreach_sgd_) foreach_sgd_->hold_lr_on_device(device_);
      graphed_step_ = std::make_unique<GraphedStep>(
          [this](const torch::Tensor& images, const torch::Tensor& labels) {
            return train_step(images, labels);
          });
    } else {
      out() << "--cuda-graph: " << reason << "; training eagerly" << std::endl;
    }
  }
}

Trainer::~Trainer() = default;

torch::Tensor Trainer::forward_backward(const torch::Tensor& images, const torch::Tensor& labels,
                                       double weight) {
  // Compute prediction error
  torch::Tensor loss;
  {
    Timeline::Span forward(eager_timeline(), kComputeLane, "forward");
    AutocastScope autocast(options_.fast_path.amp, device_, autocast_dtype(options_.fast_path));
    auto pred = forward_(images);
    loss = torch::nn::functional::cross_entropy(
        pred.to(torch::kFloat), labels,
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(options_.label_smoothing));
  }
  // A micro-batch's share of the batch's mean loss (no multiply for a whole batch).
  if (weight != 1.0) loss = loss * weight;

  // Backpropagation
  Timeline::Span backward(eager_timeline(), kComputeLane, "backward");
  (scaler_ ? scaler_->scale(loss) : loss).backward();
  return loss.detach();
}

torch::Tensor Trainer::train_step(const torch::Tensor& images, const torch::Tensor& labels) {
  if (graphed_step_) {
    zero_gradients_in_place(optimizer_);
  } else {
    free_gradients(optimizer_);
  }
  // Gradient accumulation: the gradients of N micro-batches (one without
  // --accumulate-steps) add up in .grad; under DDP only the last backward
  // all-reduces their sum.
  torch::Tensor loss;
  const auto image_parts = images.chunk(options_.accumulate_steps);
  const auto label_parts = labels.chunk(options_.accumulate_steps);
  const double batch = static_cast<double>(labels.size(0));
  for (size_t i = 0; i < image_parts.size(); ++i) {
    if (gradient_sync_) gradient_sync_(i + 1 == image_parts.size());
    const auto part = forward_backward(image_parts[i], label_parts[i],
                                       static_cast<double>(label_parts[i].size(0)) / batch);
    loss = loss.defined() ? loss + part : part;
  }
  Timeline::Span step(eager_timeline(), kComputeLane, "optimizer step");
  if (scaler_) {
    scaler_->step(optimizer_);  // unscales; skips the step on inf/NaN gradients
  } else {
    optimizer_.step();
  }
  return loss;
}

TrainEpochResult Trainer::train_epoch(BatchLoader& loader) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t dataset_size = loader.dataset().size();
  model_.train();
  TrainEpochResult result;
  result.world_size = options_.world_size;
  progress_.start(loader.epoch() + 1, options_.epochs, dataset_size);
  epoch_loss_sum_ = torch::Tensor();
  if (loader.position() == 0) resumed_epoch_loss_sum_ = 0;  // only a resumed epoch has one
  const int64_t skipped_before = scaler_ ? scaler_->skipped_steps() : 0;
  for (int64_t batch_index = loader.position(); !reached_max_steps(); ++batch_index) {
    if (timeline_) {
      if (step_ == timeline_->window().end) progress_.clear();  // its "written to" line comes
      timeline_->begin_step(step_);
    }
    Timeline::Span loading(timeline_, kDataLane, "load batch", "data");
    auto batch = loader.next();
    if (!batch) {
      loading.cancel();
      break;
    }
    augment_generator_.set_current_seed(step_seed(options_.seed, step_));
    auto images = in_model_layout(train_transform_(batch->images, augment_generator_),
                                  options_.fast_path);
    loading.end();
    schedule_.apply(optimizer_, step_);
    torch::Tensor loss;
    if (graphed_step_) {
      Timeline::Span replay(timeline_, kComputeLane, "CUDA graph replay");
      if (foreach_sgd_) foreach_sgd_->load_lr_to_device();
      const double baked_lr = foreach_sgd_ ? 0.0 : schedule_.lr_at(step_);
      loss = graphed_step_->run(images, batch->labels, baked_lr);
    } else {
      loss = train_step(images, batch->labels);
    }
    ++step_;

    epoch_loss_sum_ = epoch_loss_sum_.defined() ? epoch_loss_sum_ + loss : loss;
    result.samples += batch->labels.size(0);
    ++result.steps;
    if (batch_index % options_.log_interval == 0) {
      const int64_t current = std::min(
          batch_index * loader.options().batch_size() * options_.world_size, dataset_size);
      progress_.clear();  // the log line goes above the bar
      out() << strprintf("loss: %7f  [%5lld/%5lld]", loss.item<double>(),
                         static_cast<long long>(current), static_cast<long long>(dataset_size))
            << std::endl;
    }
    progress_.update(
        std::min((batch_index + 1) * loader.options().batch_size() * options_.world_size,
                 dataset_size),
        [&] { return loss.item<double>(); });
    if (step_hook_ && step_hook_({loader.epoch(), loader.position(), step_})) {
      result.stopped = true;
      break;
    }
  }
  progress_.clear();
  if (scaler_ && scaler_->skipped_steps() > skipped_before) {
    out() << strprintf("fp16 loss scaling: %lld of %lld steps skipped (inf/NaN gradients), "
                       "scale now %g",
                       static_cast<long long>(scaler_->skipped_steps() - skipped_before),
                       static_cast<long long>(result.steps), scaler_->current_scale())
          << std::endl;
  }
  // Over all the epoch's batches, those before a resume included.
  result.mean_loss = loader.position() > 0 ? epoch_loss_sum() / loader.position() : 0;
  result.seconds = seconds_since(start);
  return result;
}

void Trainer::resume_from(const TrainingPosition& position) {
  step_ = position.step;
  resumed_epoch_loss_sum_ = position.epoch_loss_sum;
  if (scaler_) scaler_->load_state(position.loss_scale);
}

TrainingPosition Trainer::position(const BatchLoader& loader) const {
  // At an epoch's end, the next one's start (with no loss sum to read from the device).
  TrainingPosition position = loader.position() >= loader.num_batches()
                                  ? TrainingPosition{loader.epoch() + 1, 0, step_}
                                  : TrainingPosition{loader.epoch(), loader.position(), step_,
                                                     epoch_loss_sum()};
  if (scaler_) position.loss_scale = scaler_->state();
  return position;
}

double Trainer::epoch_loss_sum() const {
  return resumed_epoch_loss_sum_ +
         (epoch_loss_sum_.defined() ? epoch_loss_sum_.item<double>() : 0.0);
}

EvalResult Trainer::evaluate(BatchLoader& loader) {
  torch::NoGradGuard no_grad;
  model_.eval();
  EvalResult result;
  torch::Tensor loss_sum, correct;
  while (auto batch = loader.next()) {
    auto images = in_model_layout(test_transform_(batch->images, augment_generator_),
                                  options_.fast_path);
    torch::Tensor pred;
    {
      AutocastScope autocast(options_.fast_path.amp, device_, autocast_dtype(options_.fast_path));
      pred = forward_(images).to(torch::kFloat);
    }
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
