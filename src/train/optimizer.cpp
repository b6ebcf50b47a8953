#define TUTORIAL_COMPAT_OPTIMIZER_STATE
#include "train/optimizer.h"

#include "core/torch_compat.h"

#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_zero.h>

#include <memory>

namespace tutorial {

ForeachSgd make_sgd(const std::vector<torch::Tensor>& parameters, const TrainConfig& config) {
  return ForeachSgd(parameters, torch::optim::SGDOptions(config.lr)
                                    .momentum(config.momentum)
                                    .nesterov(config.nesterov)
                                    .weight_decay(config.weight_decay));
}

// torch::optim::SGD::step's arithmetic, a list at a time:
//   d_p = grad + weight_decay * p
//   buf = d_p (first step) | momentum * buf + (1 - dampening) * d_p
//   d_p = d_p + momentum * buf (Nesterov) | buf
//   p  -= lr * d_p
torch::Tensor ForeachSgd::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const torch::optim::SGDOptions&>(group.options());
    std::vector<torch::Tensor> params, grads;
    for (const auto& param : group.params()) {
      if (!param.grad().defined()) continue;
      params.push_back(param);
      grads.push_back(param.grad());
    }
    if (params.empty()) continue;

    auto steps = options.weight_decay() != 0
                     ? at::_foreach_add(grads, params, options.weight_decay())
                     : grads;
    if (options.momentum() != 0) {
      // Buffers that exist are updated together; a parameter's first step
      // starts its buffer as a copy of its d_p.
      std::vector<torch::Tensor> buffers(params.size()), old_buffers, old_steps;
      for (size_t i = 0; i < params.size(); ++i) {
        const auto key = compat::optimizer_state_key(params[i]);
        auto found = state_.find(key);
        if (found == state_.end()) {
          auto state = std::make_unique<torch::optim::SGDParamState>();
          buffers[i] = torch::clone(steps[i]).detach();
          state->momentum_buffer(buffers[i]);
          state_[key] = std::move(state);
        } else {
          buffers[i] =
              static_cast<torch::optim::SGDParamState&>(*found->second).momentum_buffer();
          old_buffers.push_back(buffers[i]);
          old_steps.push_back(steps[i]);
        }
      }
      if (!old_buffers.empty()) {
        at::_foreach_mul_(old_buffers, options.momentum());
        at::_foreach_add_(old_buffers, old_steps, 1 - options.dampening());
      }
      steps = options.nesterov() ? at::_foreach_add(steps, buffers, options.momentum()) : buffers;
    }
    at::_foreach_add_(params, steps, -options.lr());
  }
  return loss;
}

void free_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& parameter : group.params()) parameter.mutable_grad().reset();
  }
}

void zero_gradients_in_place(torch::optim::Optimizer& optimizer) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (auto& group : optimizer.param_groups()) {
    for (auto& parameter : group.params()) {
      if (parameter.grad().defined()) grads.push_back(parameter.mutable_grad());
    }
  }
  if (!grads.empty()) at::_foreach_zero_(grads);
}

}  // namespace tutorial
