#include "core/device.h"

#include "build_config.h"
#include "core/errors.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <cstdlib>
#include <thread>

#if TUTORIAL_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace tutorial {

int64_t cuda_device_count() {
  return torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
}

torch::Device resolve_device(const std::string& name) {
  if (name == "auto") return cuda_device_count() > 0 ? torch::Device(torch::kCUDA, 0) : torch::kCPU;
  if (name == "cpu") return torch::kCPU;
  if (name.rfind("cuda", 0) != 0) {
    throw UserError("--device: unknown device '" + name + "' (valid: auto, cpu, cuda, cuda:N)");
  }
  int64_t index = 0;
  if (name != "cuda") {
    const std::string digits = name.size() > 5 && name[4] == ':' ? name.substr(5) : "";
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
      throw UserError("--device: unknown device '" + name + "' (valid: auto, cpu, cuda, cuda:N)");
    }
    index = std::stoll(digits);
  }
  const auto available = cuda_device_count();
  if (index >= available) {
    throw UserError("--device " + name + ": this machine has " + std::to_string(available) +
                    " usable CUDA device(s)" +
                    (TUTORIAL_WITH_CUDA ? "" : " (this LibTorch was built without CUDA)"));
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

int64_t configure_cpu_threads(int64_t threads, int64_t processes_per_machine) {
  if (threads == 0) {
    if (const char* variable = std::getenv("OMP_NUM_THREADS")) {
      char* end = nullptr;
      const long value = std::strtol(variable, &end, 10);
      if (end != variable && *end == '\0' && value > 0) threads = value;
    }
  }
  if (threads == 0) {
    const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
    threads = std::max<int64_t>(1, cores / std::max<int64_t>(1, processes_per_machine));
  }
  at::set_num_threads(static_cast<int>(threads));
  return at::get_num_threads();
}

std::string describe_device(const torch::Device& device) {
#if TUTORIAL_WITH_CUDA
  if (device.is_cuda()) {
    const auto* properties = at::cuda::getDeviceProperties(device.index());
    return device.str() + " (" + properties->name + ")";
  }
#endif
  return device.str();
}

torch::Device device_of(const torch::nn::Module& model) {
  const auto parameters = model.parameters();
  return parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
}

}  // namespace tutorial
