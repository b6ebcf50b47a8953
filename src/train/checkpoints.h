// Checkpoints a run resumes from exactly: model, optimizer state, the
// position in training (epoch, batch, step; the epoch's loss so far) and the
// CPU random generator (and the CUDA one, where there is a GPU).
// Everything else a step depends on is a function of that position: the
// sampler's order (seed + epoch), the learning rate (step) and the
// augmentation's random draws (seed, rank and step; train/engine.h). So a run
// killed at any step and resumed from its last checkpoint ends with the very
// parameters of an uninterrupted run.
//
// A checkpoint is one file in PyTorch's format (Python's torch.load reads it
// as a dict), written atomically by rank 0: OUTPUT/checkpoints/step-<N>.pt.
#pragma once

#include "train/config.h"
#include "train/grad_scaler.h"

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <filesystem>
#include <string>
#include <vector>

namespace tutorial {

// Where training stands: the next batch to train.
struct TrainingPosition {
  int64_t epoch = 0;  // the epoch being trained, from 0
  int64_t batch = 0;  // the next batch of that epoch
  int64_t step = 0;   // training steps done so far
  // The sum of the losses of that epoch's first `batch` batches (this rank's;
  // rank 0's is the one recorded), so that a resumed epoch records the mean
  // over all its batches. 0 at an epoch's start.
  double epoch_loss_sum = 0;
  // fp16's loss scaler (train/grad_scaler.h) at that point; scale 0: none.
  LossScaleState loss_scale = {};
};

// The settings a checkpoint can only be resumed under, as "name=value" lines.
std::string resume_fingerprint(const TrainConfig& config, int64_t world_size);

class Checkpoints {
 public:
  // Checkpoints of the run writing to `output_dir`; the newest `keep` are kept.
  Checkpoints(const std::string& output_dir, int64_t keep, std::string fingerprint);

  // Writes a checkpoint of `position` (rank 0 only) and deletes the oldest
  // beyond `keep`. Returns its path.
  std::string save(const torch::nn::Module& model, const torch::optim::Optimizer& optimizer,
                   const TrainingPosition& position);

  // What --resume asks for: "none", the start; "auto", the newest readable
  // checkpoint (a damaged one is reported on stderr and the one before it
  // used), or the start if there is none; else the path of a checkpoint.
  // Loads the model, the optimizer and the CPU generator, and says on rank 0
  // where training resumes. A checkpoint made with other settings (see
  // resume_fingerprint) is a UserError naming the first difference.
  TrainingPosition resume(const std::string& what, torch::nn::Module& model,
                          torch::optim::Optimizer& optimizer);

  // The checkpoint files there are, oldest first.
  std::vector<std::filesystem::path> files() const;

 private:
  TrainingPosition load(const std::filesystem::path& path, torch::nn::Module& model,
                        torch::optim::Optimizer& optimizer);

  std::filesystem::path folder_;
  int64_t keep_;
  std::string fingerprint_;
};

}  // namespace tutorial
