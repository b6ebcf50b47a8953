#include "distributed/sync_batch_norm.h"

#include <torch/csrc/autograd/custom_function.h>

#include <cstdint>
#include <vector>

namespace tutorial {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The dimensions BatchNorm sums over: all but the channels (dimension 1).
std::vector<int64_t> non_channel_dims(const torch::Tensor& x) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

// A per-channel vector shaped to broadcast against x: [1, C, 1, 1].
torch::Tensor per_channel(const torch::Tensor& v, const torch::Tensor& x) {
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[1] = v.size(0);
  return v.view(shape);
}

// Per channel, in float (double for double input). All tensors on the
// input's device: nothing waits for the GPU.
struct GlobalStatistics {
  torch::Tensor mean, var;  // var: biased, as normalisation uses it
  torch::Tensor count;      // one value: values per channel over all ranks
};

// Forward's all-reduce: per channel the sum and the sum of squares of every
// rank's values, and their count, in one tensor (double, so that the global
// sums lose nothing). Each rank's sums come from its own mean and variance,
// computed stably (two passes) rather than by squaring large values.
GlobalStatistics all_reduce_statistics(const torch::Tensor& x, ProcessGroup& group) {
  torch::NoGradGuard no_grad;
  const int64_t channels = x.size(1);
  const int64_t count = x.numel() / channels;
  const auto math_type = x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto stats = torch::zeros({2 * channels + 1}, x.options().dtype(torch::kDouble));
  if (count > 0) {
    const auto dims = non_channel_dims(x);
    auto [var, mean] = torch::var_mean(x.to(math_type), at::IntArrayRef(dims), /*unbiased=*/false,
                                       /*keepdim=*/false);
    const auto n = static_cast<double>(count);
    stats.slice(0, 0, channels).copy_(mean * n);
    stats.slice(0, channels, 2 * channels).copy_((var + mean * mean) * n);
    stats[2 * channels].fill_(n);
  }
  group.all_reduce_sum(stats);
  const auto total = stats.slice(0, 2 * channels);
  const auto mean = stats.slice(0, 0, channels) / total;
  const auto var = (stats.slice(0, channels, 2 * channels) / total - mean * mean).clamp_min(0);
  return {mean.to(math_type), var.to(math_type), total.to(math_type)};
}

// BatchNorm's running statistics, updated as BatchNorm would update them on
// the global batch: momentum, or a cumulative average when momentum is unset.
void update_running_statistics(torch::nn::BatchNorm2dImpl& bn, const GlobalStatistics& global) {
  torch::NoGradGuard no_grad;
  bn.num_batches_tracked += 1;
  const double momentum = bn.options.momentum().has_value()
                              ? *bn.options.momentum()
                              : 1.0 / bn.num_batches_tracked.item<double>();
  const auto unbiased_var = global.var * global.count / (global.count - 1);
  bn.running_mean.mul_(1 - momentum).add_(global.mean.to(bn.running_mean.dtype()), momentum);
  bn.running_var.mul_(1 - momentum).add_(unbiased_var.to(bn.running_var.dtype()), momentum);
}

// Normalisation with given (global) statistics; its backward all-reduces the
// two per-channel sums the input's gradient needs.
struct SyncBatchNormFunction : torch::autograd::Function<SyncBatchNormFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               const torch::Tensor& mean, const torch::Tensor& var,
                               const torch::Tensor& count, double eps, ProcessGroup* group) {
    auto invstd = (var + eps).rsqrt();
    ctx->save_for_backward({x, weight, mean, invstd, count});
    ctx->saved_data["has_bias"] = bias.defined();
    // An IValue holds no C++ object: the group goes by address. It outlives
    // the backward, as it outlives the model (stages 3 and 4 make it first).
    ctx->saved_data["group"] = static_cast<int64_t>(reinterpret_cast<std::intptr_t>(group));
    // BatchNorm with the global statistics as its "running" ones: the same
    // kernels (cuDNN on GPUs), the same output type and memory format.
    return torch::batch_norm(x, weight, bias, mean, var, /*training=*/false, /*momentum=*/0.0, eps,
                             /*cudnn_enabled=*/true);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1], &mean = saved[2], &invstd = saved[3],
               &count = saved[4];
    auto* group = reinterpret_cast<ProcessGroup*>(
        static_cast<std::intptr_t>(ctx->saved_data["group"].toInt()));

    const auto dims = non_channel_dims(x);
    const auto dy = grad_outputs[0].to(mean.scalar_type());
    const auto x_hat = (x.to(mean.scalar_type()) - per_channel(mean, x)) * per_channel(invstd, x);
    auto sum_dy = dy.sum(dims);
    auto sum_dy_x_hat = (dy * x_hat).sum(dims);

    // The weight's and bias's gradients: this rank's samples only, as
    // BatchNorm's; DDP averages them with the other ranks' afterwards.
    torch::Tensor grad_weight, grad_bias;
    if (weight.defined()) grad_weight = sum_dy_x_hat.to(weight.scalar_type());
    if (ctx->saved_data["has_bias"].toBool()) grad_bias = sum_dy.to(mean.scalar_type());

    // The input's gradient: every output depends on every rank's inputs
    // through the mean and variance, so both sums are over all ranks.
    torch::Tensor grad_x;
    if (ctx->needs_input_grad(0)) {
      const int64_t channels = x.size(1);
      auto sums = torch::cat({sum_dy, sum_dy_x_hat});
      group->all_reduce_sum(sums);
      const auto mean_dy = sums.slice(0, 0, channels) / count;
      const auto mean_dy_x_hat = sums.slice(0, channels, 2 * channels) / count;
      auto scale = weight.defined() ? invstd * weight.to(invstd.scalar_type()) : invstd;
      grad_x = ((dy - per_channel(mean_dy, x) - x_hat * per_channel(mean_dy_x_hat, x)) *
                per_channel(scale, x))
                   .to(x.scalar_type());
    }
    // One gradient per forward argument: x, weight, bias, then none for
    // mean, var, count, eps and group.
    return {grad_x, grad_weight, grad_bias, {}, {}, {}, {}, {}};
  }
};

}  // namespace

torch::Tensor sync_batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x,
                              ProcessGroup& group) {
  // Only in training, as torch.nn.SyncBatchNorm: evaluation runs on each
  // rank's own shard, whose batches the other ranks do not match one for one.
  if (!bn.is_training() || group.world_size() == 1) return bn.forward(x);
  TORCH_CHECK(x.dim() == 4, "expected 4D input (got ", x.dim(), "D input)");
  const GlobalStatistics global = all_reduce_statistics(x, group);
  if (bn.options.track_running_stats()) update_running_statistics(bn, global);
  return SyncBatchNormFunction::apply(x, bn.weight, bn.bias, global.mean, global.var, global.count,
                                      bn.options.eps(), &group);
}

}  // namespace tutorial
