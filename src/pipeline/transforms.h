// Batched image transforms, run on whatever device the batch is on.
//
// Random values are drawn on the CPU from a seeded generator and then moved to
// the batch's device, so an augmented run is the same on CPU and GPU.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <vector>

namespace tutorial {

// uint8 [B,C,H,W] -> float [B,C,H,W] in [0, 1] (torchvision's ToTensor scaling).
torch::Tensor to_unit_float(const torch::Tensor& images_uint8);

// (x - mean[c]) / std[c] per channel; mean and std have one entry per channel.
torch::Tensor normalize(const torch::Tensor& images, const std::vector<double>& mean,
                        const std::vector<double>& stddev);

// Zero-pads each image by `padding` on every side and crops a random HxW window
// per image (torchvision's RandomCrop(H, padding)).
torch::Tensor random_crop(const torch::Tensor& images, int64_t padding, at::Generator& generator);

// Flips each image left-right with probability 1/2 (RandomHorizontalFlip).
torch::Tensor random_horizontal_flip(const torch::Tensor& images, at::Generator& generator);

// What to do to a batch of uint8 images before the model sees it.
struct BatchTransform {
  bool augment = false;          // random crop (pad 4) + horizontal flip
  int64_t crop_padding = 4;
  std::vector<double> mean;      // empty: no normalisation (the tutorial's ToTensor only)
  std::vector<double> stddev;

  torch::Tensor operator()(const torch::Tensor& images_uint8, at::Generator& generator) const;
};

}  // namespace tutorial
