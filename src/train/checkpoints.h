// Checkpoints a run resumes from exactly: model, optimizer state, the
// position in training (epoch, batch, step; the samples of the epoch done;
// the epoch's loss so far), the number of ranks that wrote it and the CPU
// random generator (rank 0's, which every rank loads; and the CUDA one, where
// there is a GPU). Everything else a step depends on is a function of that
// position: the sampler's order (seed + epoch), the learning rate (step) and
// the augmentation's random draws (seed, rank and step; train/engine.h). So a
// run killed at any step and resumed from its last checkpoint on as many
// ranks ends with the very parameters of an uninterrupted run.
//
// The position counts global batches (--batch-size over all ranks), and the
// checkpoint records it in samples too: batch N of an epoch starts at sample
// N x --batch-size of the epoch's order. With DistributedSampler's sharding
// (rank r takes positions r, r + W, ...) the W ranks' step-s batches are
// together positions [s x B, (s + 1) x B) of that order whatever W is, as
// long as W divides the global batch B. So a checkpoint of W ranks resumes on
// W' ranks (another launch, stage 1 as one rank, ...): the same samples in the
// same order, in batches of B. Not bitwise the same parameters, as the sum over
// ranks adds in another order; nor the same augmentation, whose draws are per
// rank; and where W' does not divide the training set, the epoch's last
// batch repeats a sample or two of its start, as DistributedSampler pads.
// The world size it was written by is recorded, not a setting it must
// resume under (resume_fingerprint).
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
  // over all its batches. 0 at an epoch's start. Each is rank 0's loss on its
  // share of a batch: resumed on another world size, the epoch's mean mixes
  // shares of two sizes (each an estimate of the batch's loss), so that one
  // epoch's train loss is not what either world size alone would record.
  double epoch_loss_sum = 0;
  // fp16's loss scaler (train/grad_scaler.h) at that point; scale 0: none.
  LossScaleState loss_scale = {};
};

// The settings a checkpoint can only be resumed under, as "name=value" lines.
// Not the world size: the global batch (--batch-size) is what must stay.
std::string resume_fingerprint(const TrainConfig& config);

class Checkpoints {
 public:
  // Checkpoints of the run writing to `output_dir`; the newest `keep` are
  // kept. The run trains on `world_size` ranks with global batches of
  // `global_batch` samples (--batch-size; that many per rank with one rank).
  Checkpoints(const std::string& output_dir, int64_t keep, std::string fingerprint,
              int64_t world_size, int64_t global_batch);

  // Writes a checkpoint of `position` (rank 0 only) and deletes the oldest
  // beyond `keep`. Returns its path.
  std::string save(const torch::nn::Module& model, const torch::optim::Optimizer& optimizer,
                   const TrainingPosition& position);

  // What --resume asks for: "none", the start; "auto", the newest readable
  // checkpoint (a damaged one is reported on stderr and the one before it
  // used), or the start if there is none; else the path of a checkpoint.
  // Loads the model, the optimizer and the CPU generator, and says on rank 0
  // where training resumes, and in one more line if the checkpoint was
  // written by another number of ranks. A checkpoint made with other settings
  // (see resume_fingerprint) is a UserError naming the first difference.
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
  int64_t world_size_, global_batch_;
  int64_t loaded_world_size_ = 0;  // the ranks that wrote the checkpoint load() read last
};

}  // namespace tutorial
