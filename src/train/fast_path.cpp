#define TUTORIAL_COMPAT_AUTOCAST
#include "train/fast_path.h"

#include "core/cpu_features.h"
#include "core/errors.h"
#include "core/torch_compat.h"

#include <ATen/Context.h>

#include <vector>

namespace tutorial {

std::string describe_fast_path(const FastPath& fast_path, bool amp_is_slow,
                               const std::string& graph_unavailable) {
  std::vector<std::string> parts;
  if (fast_path.amp && needs_loss_scaling(fast_path)) parts.push_back("amp fp16, loss scaling");
  if (fast_path.amp && !needs_loss_scaling(fast_path)) {
    parts.push_back(amp_is_slow ? "amp bf16 (slow on this CPU)" : "amp bf16");
  }
  if (fast_path.channels_last) parts.push_back("channels-last");
  if (fast_path.data_on_device) parts.push_back("data on device");
  if (fast_path.cuda_graph) {
    parts.push_back(graph_unavailable.empty() ? "cuda graph"
                                              : "cuda graph not used (" + graph_unavailable + ")");
  }
  if (parts.empty()) return "off";
  std::string text = parts.front();
  for (size_t i = 1; i < parts.size(); ++i) text += ", " + parts[i];
  return text;
}

std::string amp_slowdown_reason(torch::Device device,
                                const std::optional<std::vector<std::string>>& cpu_flags) {
  if (!device.is_cpu() || !cpu_flags || has_fast_bf16_kernels(*cpu_flags)) return "";
  // Measured (BENCHMARKS.md): ResNet-20 15x slower on issue #14's CPU; with
  // this project's CPU held to AVX2 kernels, ResNet-20 8x and the MLP 5-9x.
  return "this CPU has neither bf16 instructions (AVX512-BF16, AMX, Arm BF16) nor AVX-512: "
         "LibTorch's bf16 runs in generic loops, 5-15x slower than float32";
}

void convert_to_channels_last(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto tensors : {model.parameters(), model.buffers()}) {
    for (auto& tensor : tensors) {
      if (tensor.dim() == 4) tensor.set_data(tensor.contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
}

torch::Tensor in_model_layout(const torch::Tensor& images, const FastPath& fast_path) {
  if (!fast_path.channels_last || images.dim() != 4) return images;
  return images.contiguous(at::MemoryFormat::ChannelsLast);
}

at::ScalarType autocast_dtype(const FastPath& fast_path) {
  return fast_path.fp16 ? at::kHalf : at::kBFloat16;
}

bool needs_loss_scaling(const FastPath& fast_path) {
  return fast_path.amp && autocast_dtype(fast_path) == at::kHalf;
}

void apply_fast_path(const FastPath& fast_path, torch::Device device, torch::nn::Module& model) {
  if (needs_loss_scaling(fast_path) && !device.is_cuda()) {
    throw UserError("--amp-dtype fp16 needs a CUDA device, and this run is on the " +
                    device.str() + " (on a CPU, autocast is bf16: --amp)");
  }
  if (fast_path.channels_last) convert_to_channels_last(model);
  // The autotuner times each convolution's algorithms once per shape; the
  // shapes here are fixed (the last batch of an epoch adds one more).
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
}

AutocastScope::AutocastScope(bool enabled, torch::Device device, at::ScalarType dtype)
    : type_(device.type()) {
  if (!enabled) return;
  active_ = true;
  was_enabled_ = compat::autocast_enabled(type_);
  previous_dtype_ = compat::autocast_dtype(type_);
  compat::set_autocast(type_, true, dtype);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // As torch.autocast's __exit__: the cache of bf16 weight copies lives
  // until the outermost scope ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  compat::set_autocast(type_, was_enabled_, previous_dtype_);
}

}  // namespace tutorial
