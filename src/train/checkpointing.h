// What a stage's main does about checkpoints, in three calls: start (resume
// per --resume, then checkpoints every --checkpoint-every steps and a clean
// stop on SIGTERM/SIGUSR1), save (at each epoch's end) and stopped (the exit
// after a signal). Distributed stages pass how their ranks agree.
#pragma once

#include "train/checkpoints.h"
#include "train/config.h"
#include "train/engine.h"

#include <functional>

namespace tutorial {

struct RankAgreement {
  bool writes = true;                   // this rank writes checkpoints (rank 0)
  std::function<void()> barrier;        // waits for every rank (after a checkpoint)
  std::function<bool(bool)> any_rank;   // true on every rank if any rank passes true
  int64_t stop_check_interval = 1;      // steps between agreements on stopping
};

class Checkpointing {
 public:
  // `world_size`: the ranks training together (1 for stages 1 and 2). It
  // need not be the one a checkpoint was written by (train/checkpoints.h).
  Checkpointing(const TrainConfig& config, int64_t world_size, torch::nn::Module& model,
                torch::optim::Optimizer& optimizer, RankAgreement ranks = {});

  // Loads what --resume asks for, sets the trainer's step, and hooks into it:
  // a checkpoint every --checkpoint-every steps; on SIGTERM or SIGUSR1, a
  // checkpoint and a stop at the step boundary every rank agrees on.
  // Returns where training starts.
  TrainingPosition start(Trainer& trainer);

  // A checkpoint of `position` (skipped if the last one was of the same step).
  void save(const TrainingPosition& position);

  // After train_epoch stopped for a signal: says so; the exit status to return.
  int stopped() const;

 private:
  const TrainConfig& config_;
  torch::nn::Module& model_;
  torch::optim::Optimizer& optimizer_;
  RankAgreement ranks_;
  Checkpoints checkpoints_;
  // The newest checkpoint's position. A step that ends an epoch is saved
  // twice where both apply: after its batch (the epoch's evaluation still to
  // come) and after the evaluation (at the next epoch).
  TrainingPosition last_saved_position_{-1, -1, -1};
  std::string last_saved_;
};

}  // namespace tutorial
