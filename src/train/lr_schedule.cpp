#include "train/lr_schedule.h"

#include "core/errors.h"

#include <torch/optim/sgd.h>

#include <algorithm>
#include <cmath>

namespace tutorial {

LrSchedule::LrSchedule(std::string kind, double base_lr, int64_t total_steps, int64_t warmup_steps)
    : kind_(std::move(kind)),
      base_lr_(base_lr),
      warmup_steps_(std::clamp<int64_t>(warmup_steps, 0, std::max<int64_t>(total_steps - 1, 0))) {
  total_steps_ = std::max<int64_t>(total_steps - warmup_steps_, 1);
  if (kind_ != "constant" && kind_ != "step" && kind_ != "cosine") {
    throw UserError("unknown learning rate schedule '" + kind_ + "'");
  }
}

double LrSchedule::lr_at(int64_t step) const {
  if (step < warmup_steps_) {
    return base_lr_ * static_cast<double>(step + 1) / static_cast<double>(warmup_steps_);
  }
  step -= warmup_steps_;
  const double progress = static_cast<double>(step) / static_cast<double>(total_steps_);
  if (kind_ == "step") {
    if (progress >= 0.75) return base_lr_ * 0.01;
    if (progress >= 0.5) return base_lr_ * 0.1;
    return base_lr_;
  }
  if (kind_ == "cosine") return base_lr_ * 0.5 * (1.0 + std::cos(M_PI * std::min(progress, 1.0)));
  return base_lr_;
}

void LrSchedule::apply(torch::optim::Optimizer& optimizer, int64_t step) const {
  const double lr = lr_at(step);
  for (auto& group : optimizer.param_groups()) {
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
  }
}

}  // namespace tutorial
