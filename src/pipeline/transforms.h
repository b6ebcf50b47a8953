// Batched image transforms, run on whatever device the batch is on.
//
// Random values are drawn on the CPU from a seeded generator and then moved to
// the batch's device, so an augmented run is the same on CPU and GPU.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <memory>
#include <utility>
#include <vector>

namespace tutorial {

// uint8 [B,C,H,W] -> float [B,C,H,W] in [0, 1] (torchvision's ToTensor scaling).
torch::Tensor to_unit_float(const torch::Tensor& images_uint8);

// (x - mean[c]) / std[c] per channel; mean and std have one entry per channel.
torch::Tensor normalize(const torch::Tensor& images, const std::vector<double>& mean,
                        const std::vector<double>& stddev);

// ToTensor then Normalize folded into one per-channel affine map,
// x_uint8 * scale[c] + shift[c], as [1,C,1,1] float tensors on `device`.
struct ChannelAffine {
  torch::Tensor scale, shift;
};
ChannelAffine unit_float_normalization(const std::vector<double>& mean,
                                       const std::vector<double>& stddev, torch::Device device);

// uint8 [B,C,H,W] -> normalised float in two kernels on a GPU (convert,
// multiply-add) and three on a CPU, where to_unit_float and normalize take nine.
torch::Tensor to_normalized_float(const torch::Tensor& images_uint8, const ChannelAffine& affine);

// Zero-pads each image by `padding` on every side and crops a random HxW window
// per image (torchvision's RandomCrop(H, padding)).
torch::Tensor random_crop(const torch::Tensor& images, int64_t padding, at::Generator& generator);

// Flips each image left-right with probability 1/2 (RandomHorizontalFlip).
torch::Tensor random_horizontal_flip(const torch::Tensor& images, at::Generator& generator);

// What to do to a batch of uint8 images before the model sees it. Crop and
// flip move the bytes (a quarter of the floats' memory); one affine map then
// makes them normalised floats.
struct BatchTransform {
  BatchTransform() = default;
  BatchTransform(bool augment_batch, int64_t padding, std::vector<double> channel_mean,
                 std::vector<double> channel_stddev)
      : augment(augment_batch), crop_padding(padding), mean(std::move(channel_mean)),
        stddev(std::move(channel_stddev)) {}

  bool augment = false;          // random crop (pad 4) + horizontal flip
  int64_t crop_padding = 4;
  std::vector<double> mean;      // empty: no normalisation (the tutorial's ToTensor only)
  std::vector<double> stddev;

  torch::Tensor operator()(const torch::Tensor& images_uint8, at::Generator& generator) const;

  // The affine map's constants on the device last used: made once, not
  // copied to the device every batch.
  mutable std::shared_ptr<ChannelAffine> affine_on_device;
};

}  // namespace tutorial
