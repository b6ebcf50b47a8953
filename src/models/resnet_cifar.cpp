#include "models/resnet_cifar.h"

#include "core/errors.h"

#include <torch/nn/functional/padding.h>
#include <torch/nn/init.h>

namespace tutorial {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv3x3(int64_t in_planes, int64_t out_planes, int64_t stride) {
  return nn::Conv2d(
      nn::Conv2dOptions(in_planes, out_planes, 3).stride(stride).padding(1).bias(false));
}

nn::Sequential make_stage(int64_t in_planes, int64_t planes, int64_t blocks, int64_t stride) {
  nn::Sequential stage;
  for (int64_t i = 0; i < blocks; ++i) {
    stage->push_back(BasicBlock(i == 0 ? in_planes : planes, planes, i == 0 ? stride : 1));
  }
  return stage;
}

torch::Tensor normalize(const BatchNormFn& batch_norm, nn::BatchNorm2d& bn,
                        const torch::Tensor& x) {
  return batch_norm ? batch_norm(*bn, x) : bn->forward(x);
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride)
    : in_planes_(in_planes), planes_(planes), stride_(stride) {
  reset();
}

void BasicBlockImpl::reset() {
  conv1_ = register_module("conv1", conv3x3(in_planes_, planes_, stride_));
  bn1_ = register_module("bn1", nn::BatchNorm2d(planes_));
  conv2_ = register_module("conv2", conv3x3(planes_, planes_, 1));
  bn2_ = register_module("bn2", nn::BatchNorm2d(planes_));
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& input) {
  // ReLU in place, as torchvision's ReLU(inplace=True): BatchNorm's backward
  // needs its input, not its output, so no copy is kept.
  auto out = normalize(batch_norm_, bn1_, conv1_->forward(input)).relu_();
  out = normalize(batch_norm_, bn2_, conv2_->forward(out));
  auto shortcut = input;
  if (stride_ != 1 || in_planes_ != planes_) {
    // Option A: take every stride-th pixel, zero-pad the extra channels. In
    // channels-last the pixels are taken by a 1x1 average pool rather than a
    // strided slice: the same values, but its backward keeps the layout, where
    // a slice's backward writes an NCHW gradient that makes the next ReLU's
    // backward mix layouts, 8x slower on a CPU (5% of a --channels-last step:
    // BENCHMARKS.md, section 2). In NCHW the slice is the faster.
    namespace F = torch::nn::functional;
    const auto extra = planes_ - in_planes_;
    const auto pixels =
        input.is_contiguous(torch::MemoryFormat::ChannelsLast)
            ? torch::avg_pool2d(input, {1, 1}, {stride_, stride_})
            : input.slice(2, 0, c10::nullopt, stride_).slice(3, 0, c10::nullopt, stride_);
    shortcut = F::pad(pixels, F::PadFuncOptions({0, 0, 0, 0, extra / 2, extra - extra / 2}));
  }
  return (out + shortcut).relu_();
}

ResNetCifarImpl::ResNetCifarImpl(int64_t depth, int64_t in_channels, int64_t num_classes)
    : depth_(depth), in_channels_(in_channels), num_classes_(num_classes) {
  if (depth < 8 || (depth - 2) % 6 != 0) {
    throw UserError("ResNet depth must be 6n+2 (20, 32, 44, 56, 110, ...), got " +
                    std::to_string(depth));
  }
  reset();
}

void ResNetCifarImpl::reset() {
  const int64_t blocks = (depth_ - 2) / 6;
  conv1_ = register_module("conv1", conv3x3(in_channels_, 16, 1));
  bn1_ = register_module("bn1", nn::BatchNorm2d(16));
  layer1_ = register_module("layer1", make_stage(16, 16, blocks, 1));
  layer2_ = register_module("layer2", make_stage(16, 32, blocks, 2));
  layer3_ = register_module("layer3", make_stage(32, 64, blocks, 2));
  fc_ = register_module("fc", nn::Linear(64, num_classes_));
  // He initialisation for convolutions and the classifier, as the paper does.
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanIn, torch::kReLU);
    } else if (auto* linear = module->as<nn::Linear>()) {
      nn::init::kaiming_normal_(linear->weight, 0.0, torch::kFanIn, torch::kReLU);
    }
  }
  if (batch_norm_) set_batch_norm(batch_norm_);  // the new blocks too
}

void ResNetCifarImpl::set_batch_norm(const BatchNormFn& batch_norm) {
  batch_norm_ = batch_norm;
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* block = module->as<BasicBlock>()) block->set_batch_norm(batch_norm);
  }
}

torch::Tensor ResNetCifarImpl::forward(const torch::Tensor& x) {
  auto out = normalize(batch_norm_, bn1_, conv1_->forward(x)).relu_();
  out = layer3_->forward(layer2_->forward(layer1_->forward(out)));
  out = torch::adaptive_avg_pool2d(out, {1, 1}).flatten(1);
  return fc_->forward(out);
}

}  // namespace tutorial
