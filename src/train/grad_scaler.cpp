#include "train/grad_scaler.h"

#include "core/errors.h"

#include <cmath>

namespace tutorial {

GradScaler::GradScaler(GradScalerOptions options) : options_(options) {
  state_.scale = options_.init_scale();
}

torch::Tensor GradScaler::scale(const torch::Tensor& loss) const { return loss * state_.scale; }

bool unscale_gradients(torch::optim::Optimizer& optimizer, double scale) {
  torch::NoGradGuard no_grad;
  // As GradScaler: the reciprocal in float32, applied in the gradient's dtype.
  const double inverse = static_cast<float>(1.0 / scale);
  torch::Tensor all_finite;
  for (auto& group : optimizer.param_groups()) {
    for (auto& param : group.params()) {
      auto& grad = param.mutable_grad();
      if (!grad.defined()) continue;
      grad.mul_(inverse);
      auto finite = torch::isfinite(grad).all();
      all_finite = all_finite.defined() ? all_finite.logical_and(finite) : finite;
    }
  }
  return all_finite.defined() && !all_finite.item<bool>();
}

bool GradScaler::step(torch::optim::Optimizer& optimizer) {
  const bool found_inf = unscale_gradients(optimizer, state_.scale);
  if (found_inf) {
    // torch._amp_update_scale_: back off and start counting again.
    state_.scale *= options_.backoff_factor();
    state_.growth_tracker = 0;
    ++skipped_steps_;
    return false;
  }
  optimizer.step();
  if (++state_.growth_tracker == options_.growth_interval()) {
    const double grown = state_.scale * options_.growth_factor();
    if (std::isfinite(grown)) state_.scale = grown;
    state_.growth_tracker = 0;
  }
  return true;
}

void GradScaler::load_state(const LossScaleState& state) {
  if (state.scale == 0) return;
  if (!(state.scale > 0) || !std::isfinite(state.scale) || state.growth_tracker < 0) {
    throw UserError("the checkpoint's loss scale " + std::to_string(state.scale) +
                    " (growth tracker " + std::to_string(state.growth_tracker) +
                    ") is not a positive finite number");
  }
  state_ = state;
}

}  // namespace tutorial
