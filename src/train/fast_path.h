// The fast path: switches that make a training step cheaper without changing
// what it computes (beyond rounding): --amp, --channels-last, --data-on-device,
// and cuDNN's autotuner on CUDA. --cuda-graph is train/graphed_step.h.
#pragma once

#include "train/config.h"

#include <torch/nn/module.h>
#include <torch/types.h>

#include <optional>
#include <string>
#include <vector>

namespace tutorial {

// The switches that are on, for the configuration table: "amp bf16,
// channels-last", or "off"; "amp bf16 (slow on this CPU)" where `amp_is_slow`
// (amp_slowdown_reason), "cuda graph not used (why)" where `graph_unavailable`
// says why (cuda_graph_unavailable_reason). (cuDNN's autotuner is always on
// for CUDA.)
std::string describe_fast_path(const FastPath& fast_path, bool amp_is_slow = false,
                               const std::string& graph_unavailable = "");

// Why --amp on `device` would be much slower than float32, or "" where it is
// not: a CPU whose flags (core/cpu_features.h) show no fast bf16 kernels.
// Unknown flags (nullopt) and GPUs are given the benefit of the doubt. The
// run goes on in bf16 anyway: the user asked for it and the result is right.
std::string amp_slowdown_reason(torch::Device device,
                                const std::optional<std::vector<std::string>>& cpu_flags);

// Done once to the model before training: its 4-d weights to channels-last
// with --channels-last, and cuDNN's autotuner on for CUDA (shapes are fixed).
// (--data-on-device is load_training_data's.) --amp-dtype fp16 on a CPU is a
// UserError: LibTorch's CPU autocast is for bf16 (1.13 knows nothing else).
void apply_fast_path(const FastPath& fast_path, torch::Device device, torch::nn::Module& model);

// Every parameter and buffer with 4 dimensions (convolution weights) in
// channels-last (NHWC) layout; values unchanged.
void convert_to_channels_last(torch::nn::Module& model);

// A batch of images in the layout the model's weights use.
torch::Tensor in_model_layout(const torch::Tensor& images, const FastPath& fast_path);

// The dtype --amp autocasts to: bf16, or fp16 with --amp-dtype fp16.
at::ScalarType autocast_dtype(const FastPath& fast_path);
// fp16 needs loss scaling (train/grad_scaler.h); bf16 has float32's range.
bool needs_loss_scaling(const FastPath& fast_path);

// While alive and `enabled`, eligible ops on `device` run in `dtype`
// (torch.autocast(device_type, dtype=...)); restores the previous state and
// frees autocast's cast-weight cache when it ends.
class AutocastScope {
 public:
  AutocastScope(bool enabled, torch::Device device, at::ScalarType dtype = at::kBFloat16);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType type_;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

}  // namespace tutorial
