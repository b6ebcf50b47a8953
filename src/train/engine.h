// The training engine every stage uses: one epoch of training, one pass of
// evaluation, printing in the tutorial's format.
//
// The model's forward pass is a function, so each stage plugs in its own:
// the module itself (stage 1), DataParallel (stage 2), a DDP wrapper later.
#pragma once

#include "core/progress_bar.h"
#include "pipeline/batch_loader.h"
#include "pipeline/transforms.h"
#include "train/checkpoints.h"
#include "train/config.h"
#include "train/grad_scaler.h"
#include "train/graphed_step.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"
#include "timeline/timeline.h"

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <functional>
#include <memory>

namespace tutorial {

using ForwardFn = std::function<torch::Tensor(const torch::Tensor&)>;

struct TrainerOptions {
  int64_t log_interval = 100;  // batches between loss lines
  int64_t max_steps = 0;       // 0: no limit
  uint64_t seed = 0;           // augmentation randomness: step s draws from seed and s alone
  FastPath fast_path;          // --amp, --channels-last, --cuda-graph (train/fast_path.h)
  int64_t world_size = 1;      // ranks training together: progress lines count all of them
  int64_t epochs = 0;          // for the progress bar's "Epoch 2/5"
  bool progress = false;       // draw a progress bar (core/progress_bar.h)
  double label_smoothing = 0;  // of the training loss (the test loss is plain cross-entropy)
  int64_t accumulate_steps = 1;  // micro-batches per step, their gradients summed
};

// Turns a DDP wrapper's gradient all-reduce on (true) or off for the next
// forward and backward, as PyTorch's ddp.require_backward_grad_sync: with
// --accumulate-steps N only the last of a step's N backward passes all-reduces.
using GradientSyncFn = std::function<void(bool sync)>;

// The options a stage trains with: its configuration's, a progress bar where
// stdout is a terminal (and not --no-progress), and, under DDP, this rank (its
// augmentation draws from seed + rank) and the ranks training together.
TrainerOptions trainer_options(const TrainConfig& config, int64_t rank = 0, int64_t world_size = 1);

// Called after every training step with where training then stands: the
// epoch, its next batch (its batch count after the last one: the epoch's
// evaluation is still to come) and the step; true asks train_epoch to stop
// there (a preemption signal, say).
using StepHook = std::function<bool(const TrainingPosition& after)>;

struct TrainEpochResult {
  bool stopped = false;  // a StepHook asked to stop before the epoch's end
  double mean_loss = 0;  // mean of the batch losses
  int64_t steps = 0;
  int64_t samples = 0;     // this rank's
  double seconds = 0;
  int64_t world_size = 1;  // ranks training in step with this one
  // Of all ranks: this rank's rate times the world size (they run in step).
  double samples_per_second() const {
    return seconds > 0 ? static_cast<double>(samples * world_size) / seconds : 0;
  }
};

// Sums, so that distributed runs can add them up over ranks before dividing.
struct EvalResult {
  double loss_sum = 0;  // sum of per-batch mean losses (the tutorial averages over batches)
  int64_t batches = 0;
  int64_t correct = 0;
  int64_t samples = 0;
  double average_loss() const { return batches > 0 ? loss_sum / batches : 0; }
  double accuracy() const { return samples > 0 ? static_cast<double>(correct) / samples : 0; }
};

class Trainer {
 public:
  // With --amp on a CPU where bf16 is much slower, says so (rank 0) and trains in bf16.
  // With --cuda-graph where a step cannot be captured, says why (rank 0) and trains eagerly.
  Trainer(torch::nn::Module& model, ForwardFn forward, torch::optim::Optimizer& optimizer,
          LrSchedule schedule, BatchTransform train_transform, BatchTransform test_transform,
          TrainerOptions options);
  ~Trainer();

  // Trains on the rest of `loader`'s current epoch (call start_epoch first)
  // or until max_steps or the step hook says stop, printing
  // "loss: ...  [current/size]" lines.
  TrainEpochResult train_epoch(BatchLoader& loader);
  // Loss and accuracy on every batch of `loader`'s current epoch, without gradients.
  EvalResult evaluate(BatchLoader& loader);

  int64_t step() const { return step_; }
  // A resumed run continues from its checkpoint's position: counting (and
  // scheduling) from its step, and the next train_epoch's mean loss
  // including the losses of the batches done before it.
  void resume_from(const TrainingPosition& position);
  void set_step_hook(StepHook hook) { step_hook_ = std::move(hook); }
  // Under DDP: how to switch its all-reduce off for all but a step's last micro-batch.
  void set_gradient_sync(GradientSyncFn sync) { gradient_sync_ = std::move(sync); }
  // --trace: each step begins `timeline`'s step, and records its batch
  // loading, forward, backward and optimizer step while it records. Null: none.
  void set_timeline(Timeline* timeline) { timeline_ = timeline; }
  // Where training stands with `loader` once its epoch was evaluated and
  // recorded: its epoch and next batch (the next epoch's start after its
  // last batch), this trainer's step and, mid-epoch, the epoch's loss sum.
  TrainingPosition position(const BatchLoader& loader) const;
  // The sum of the current (or last) epoch's batch losses so far (reads it
  // from the device: for checkpoints, not every step).
  double epoch_loss_sum() const;
  double current_lr() const { return schedule_.lr_at(step_); }
  bool reached_max_steps() const { return options_.max_steps > 0 && step_ >= options_.max_steps; }
  // The CUDA graph replaying training steps, if --cuda-graph could be used.
  const GraphedStep* graphed_step() const { return graphed_step_.get(); }

 private:
  // Forward, loss, backward and optimizer step on one batch; returns the loss.
  // With --accumulate-steps N: forward and backward on each of N
  // micro-batches, each loss weighted by its share of the batch, so the
  // summed gradients are those of the batch's mean loss; then one step.
  torch::Tensor train_step(const torch::Tensor& images, const torch::Tensor& labels);
  // The loss of `images` and its backward (scaled, with fp16's scaler).
  torch::Tensor forward_backward(const torch::Tensor& images, const torch::Tensor& labels,
                                 double weight);

  // The timeline for spans inside a step: none while a CUDA graph captures
  // the step (no device synchronization may happen there).
  Timeline* eager_timeline() const { return graphed_step_ ? nullptr : timeline_; }

  torch::nn::Module& model_;
  ForwardFn forward_;
  torch::optim::Optimizer& optimizer_;
  LrSchedule schedule_;
  BatchTransform train_transform_, test_transform_;
  TrainerOptions options_;
  at::Generator augment_generator_;
  torch::Device device_;
  std::unique_ptr<GraphedStep> graphed_step_;
  ForeachSgd* foreach_sgd_ = nullptr;  // with a graph: the optimizer, if its rate can live on the device
  StepHook step_hook_;
  GradientSyncFn gradient_sync_;
  Timeline* timeline_ = nullptr;
  std::unique_ptr<GradScaler> scaler_;  // --amp-dtype fp16
  ProgressBar progress_;
  int64_t step_ = 0;
  torch::Tensor epoch_loss_sum_;       // on the device: no host sync per step
  double resumed_epoch_loss_sum_ = 0;  // the resumed epoch's batches before the checkpoint
};

// "Test Error: \n Accuracy: 64.3%, Avg loss: 1.083718 \n", as the tutorial prints it.
std::string format_test_result(const EvalResult& result);

}  // namespace tutorial
