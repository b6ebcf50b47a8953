// The CIFAR ResNets of He et al. 2016 ("Deep Residual Learning", section 4.2):
// a 3x3 convolution with 16 filters, three stages of n basic blocks with
// 16, 32 and 64 filters (depth 6n + 2), global average pooling and a linear
// classifier. Shortcuts are identity "option A": subsample and zero-pad the
// new channels, so they add no parameters.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <functional>

namespace tutorial {

// How a model runs its BatchNorm layers: empty for the layer's own forward;
// --sync-bn sets one that computes the batch statistics over all ranks
// (distributed/sync_batch_norm.h). The layers stay torch::nn::BatchNorm2d, so
// the state dict, its names and a saved model are those of plain BatchNorm.
using BatchNormFn = std::function<torch::Tensor(torch::nn::BatchNorm2dImpl&, const torch::Tensor&)>;

class BasicBlockImpl : public torch::nn::Cloneable<BasicBlockImpl> {
 public:
  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride);
  void reset() override;  // (re)creates the layers; Cloneable needs it
  torch::Tensor forward(const torch::Tensor& input);
  void set_batch_norm(BatchNormFn batch_norm) { batch_norm_ = std::move(batch_norm); }

 private:
  int64_t in_planes_, planes_, stride_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  BatchNormFn batch_norm_;  // copied by clone(), so DataParallel's replicas keep it
};
TORCH_MODULE(BasicBlock);

class ResNetCifarImpl : public torch::nn::Cloneable<ResNetCifarImpl> {
 public:
  // depth = 6n + 2: 20, 32, 44, 56, 110, 1202.
  ResNetCifarImpl(int64_t depth, int64_t in_channels, int64_t num_classes);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  // Every BatchNorm layer of the model, its blocks' included, runs through
  // `batch_norm` from now on (empty: the layers' own forward again).
  void set_batch_norm(const BatchNormFn& batch_norm);

 private:
  int64_t depth_, in_channels_, num_classes_;
  BatchNormFn batch_norm_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::Sequential layer1_{nullptr}, layer2_{nullptr}, layer3_{nullptr};
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(ResNetCifar);

}  // namespace tutorial
