// Learning rate as a function of the training step.
#pragma once

#include <torch/optim/optimizer.h>

#include <cstdint>
#include <string>

namespace tutorial {

class LrSchedule {
 public:
  // kind: "constant"; "step", He et al.'s schedule (divide by 10 at 50% and
  // 75% of training, their 32k and 48k of 64k iterations); "cosine", from the
  // base rate down to 0 over training. With warm-up steps, the rate first
  // rises linearly to the base rate (Goyal et al. 2017, for large batches)
  // and the schedule then runs over the remaining steps.
  LrSchedule(std::string kind, double base_lr, int64_t total_steps, int64_t warmup_steps = 0);

  double lr_at(int64_t step) const;
  // Sets the rate of every parameter group for this step.
  void apply(torch::optim::Optimizer& optimizer, int64_t step) const;
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  double base_lr_;
  int64_t total_steps_;
  int64_t warmup_steps_;
};

}  // namespace tutorial
