// A dataset held in memory as two tensors, loaded once.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace tutorial {

enum class Split { kTrain, kTest };

struct ImageDataset {
  torch::Tensor images;  // uint8 [N, C, H, W], contiguous, on the CPU
  torch::Tensor labels;  // int64 [N], each in [0, class_names.size())
  std::vector<std::string> class_names;

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
  int64_t channels() const { return images.size(1); }
  int64_t height() const { return images.size(2); }
  int64_t width() const { return images.size(3); }
};

}  // namespace tutorial
