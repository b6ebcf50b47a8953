// SGD as the configuration describes it (momentum, Nesterov, weight decay).
#pragma once

#include "train/config.h"

#include <torch/optim/sgd.h>

namespace tutorial {

// torch::optim::SGD with its update done for all parameters at once by
// LibTorch's multi-tensor ("foreach") kernels, as Python's
// torch.optim.SGD(foreach=True), its default on CUDA: on a GPU a step is a
// handful of kernel launches instead of about four per parameter (ResNet-20:
// ~240), which for small models is most of a step's time. Same arithmetic in
// the same order, same state (momentum buffers), same checkpoints.
class ForeachSgd : public torch::optim::SGD {
 public:
  using torch::optim::SGD::SGD;
  torch::Tensor step(LossClosure closure = nullptr) override;

  // For --cuda-graph: from now on step() reads each group's learning rate
  // from a one-element tensor on `device`, so a captured step replays with
  // whatever rate the tensor holds and a schedule that changes the rate every
  // step needs no new capture. (Multiplying by a tensor rounds as the eager
  // update does, but is not the same kernel: equal within float rounding.)
  void hold_lr_on_device(torch::Device device);
  bool holds_lr_on_device() const { return !lr_on_device_.empty(); }
  // Copies each group's options().lr() into its tensor: before each step,
  // outside any capture (on the stream the step then runs on).
  void load_lr_to_device();

 private:
  std::vector<torch::Tensor> lr_on_device_;  // one per parameter group
};

ForeachSgd make_sgd(const std::vector<torch::Tensor>& parameters, const TrainConfig& config);

// Before a step's backward, one of two ways:
// - free_gradients: optimizer.zero_grad() as Python 2.x and LibTorch 2.x do
//   it (set_to_none): no kernel, and the backward then hands each parameter
//   its new gradient tensor instead of adding it to zeros (one kernel per
//   parameter saved again);
// - zero_gradients_in_place: zeroes them where they are, in a few
//   multi-tensor kernels, for a captured CUDA graph, which must find every
//   tensor it writes at the same address.
void free_gradients(torch::optim::Optimizer& optimizer);
void zero_gradients_in_place(torch::optim::Optimizer& optimizer);

}  // namespace tutorial
