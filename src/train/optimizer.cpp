#define TUTORIAL_COMPAT_OPTIMIZER_STATE
#define TUTORIAL_COMPAT_FOREACH_TENSOR_LR
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
  for (size_t group_index = 0; group_index < param_groups_.size(); ++group_index) {
    auto& group = param_groups_[group_index];
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
    if (lr_on_device_.empty()) {
      at::_foreach_add_(params, steps, -options.lr());
    } else {
      compat::foreach_sub_scaled_(params, steps, lr_on_device_[group_index]);
    }
  }
  return loss;
}

void ForeachSgd::hold_lr_on_device(torch::Device device) {
  lr_on_device_.clear();
  for (const auto& group : param_groups_) {
    const auto dtype =
        group.params().empty() ? torch::kFloat : group.params().front().scalar_type();
    lr_on_device_.push_back(torch::zeros({}, torch::TensorOptions(device).dtype(dtype)));
  }
  load_lr_to_device();
}

void ForeachSgd::load_lr_to_device() {
  for (size_t i = 0; i < lr_on_device_.size(); ++i) {
    lr_on_device_[i].fill_(
        static_cast<const torch::optim::SGDOptions&>(param_groups_[i].options()).lr());
  }
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
