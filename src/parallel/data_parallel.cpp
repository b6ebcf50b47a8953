#include "parallel/data_parallel.h"

#include "build_config.h"
#include "core/device.h"
#include "core/errors.h"

#if TUTORIAL_WITH_CUDA
// Needs CUDA headers: compiles only against a CUDA LibTorch.
#include <torch/nn/parallel/data_parallel.h>
#endif

namespace tutorial {

bool data_parallel_supported() { return TUTORIAL_WITH_CUDA != 0; }

std::vector<torch::Device> data_parallel_devices(const TrainConfig& config) {
  const int64_t available = cuda_device_count();
  std::vector<torch::Device> devices;
  if (config.device == "cpu") return devices;
  if (config.devices.empty()) {
    for (int64_t i = 0; i < available; ++i) {
      devices.emplace_back(torch::kCUDA, static_cast<c10::DeviceIndex>(i));
    }
    return devices;
  }
  for (const int64_t index : config.devices) {
    if (index >= available) {
      throw UserError("--devices: GPU " + std::to_string(index) + " requested, but " +
                      std::to_string(available) + " CUDA device(s) are visible");
    }
    devices.emplace_back(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  return devices;
}

ForwardFn data_parallel_forward(const Classifier& model, const std::vector<torch::Device>& devices) {
  if (devices.size() < 2) {
    return [model](const torch::Tensor& x) { return model.forward(x); };
  }
#if TUTORIAL_WITH_CUDA
  return [model, devices](const torch::Tensor& x) {
    return model.visit([&](const auto& module) {
      return torch::nn::parallel::data_parallel(module, x, devices, devices.front());
    });
  };
#else
  throw UserError("DataParallel over several GPUs needs a CUDA build of LibTorch");
#endif
}

}  // namespace tutorial
