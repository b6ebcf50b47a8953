#include "parallel/data_parallel.h"

#include "build_config.h"
#include "core/device.h"
#include "core/errors.h"

#include <stdexcept>

#if TUTORIAL_WITH_CUDA
// Needs CUDA headers: compiles only against a CUDA LibTorch.
#include <torch/nn/parallel/data_parallel.h>
#endif

namespace tutorial {

bool data_parallel_available() { return TUTORIAL_WITH_CUDA != 0; }

std::vector<torch::Device> data_parallel_devices(const TrainConfig& config) {
  const int64_t available = cuda_device_count();
  std::vector<torch::Device> devices;
  if (config.device == "cpu") {
    if (!config.devices.empty()) {
      throw UserError("--devices names GPUs, but --device cpu was given: leave out one of them");
    }
    return devices;
  }
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

#if TUTORIAL_WITH_CUDA
namespace {

// Scatter and gather along dimension 0. On GPUs: LibTorch's autograd
// functions, as its data_parallel uses them (backward gathers the gradients
// the scatter sent out, and scatters those of the gather). They take CUDA
// tensors only, so replicas on the CPU use chunk and cat instead, which split
// and join the same way and whose backward does the same.
std::vector<torch::Tensor> scatter(const torch::Tensor& input,
                                   const std::vector<torch::Device>& devices) {
  if (devices.front().is_cpu()) return input.chunk(static_cast<int64_t>(devices.size()), 0);
  torch::autograd::Scatter scatter(devices, /*chunk_sizes=*/c10::nullopt, /*dim=*/0);
  return scatter.apply({input});
}

torch::Tensor gather(std::vector<torch::Tensor> outputs, const torch::Device& destination) {
  if (destination.is_cpu()) return torch::cat(outputs, 0);
  return torch::autograd::Gather(destination, /*dim=*/0).apply(std::move(outputs)).front();
}

// Why this exists (pytorch/pytorch#21144, "Fix C++ data parallel for BN"):
// LibTorch's replicate() deep-copies the model for every device, the first one
// included, and links back only the gradients, so the running statistics that
// BatchNorm updates in training mode would be thrown away with the replicas.
// Python's replica 0 shares the model's buffers instead; copying replica 0's
// back gives the model the same values.
void keep_first_replicas_buffers(torch::nn::Module& model, const torch::nn::Module& replica) {
  torch::NoGradGuard no_grad;
  auto buffers = model.buffers();
  const auto replica_buffers = replica.buffers();
  TORCH_CHECK(buffers.size() == replica_buffers.size(), "a replica has ", replica_buffers.size(),
              " buffers, its model ", buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(replica_buffers[i]);
}

template <typename ModuleHolder>
torch::Tensor replicate_and_apply(const ModuleHolder& model, const torch::Tensor& input,
                                  std::vector<torch::Device> devices) {
  const std::vector<torch::Tensor> inputs = scatter(input, devices);
  // As Python's: a batch cut into fewer pieces than there are devices uses fewer devices.
  devices.erase(devices.begin() + static_cast<std::ptrdiff_t>(inputs.size()), devices.end());
  auto replicas = torch::nn::parallel::replicate(model, devices);
  auto outputs = torch::nn::parallel::parallel_apply(replicas, inputs, devices);
  if (model->is_training()) keep_first_replicas_buffers(*model.ptr(), *replicas.front());
  return gather(std::move(outputs), devices.front());
}

}  // namespace
#endif

torch::Tensor data_parallel(const Classifier& model, const torch::Tensor& input,
                            const std::vector<torch::Device>& devices) {
  if (devices.size() < 2) return model.forward(input);
  for (const auto& device : devices) {
    if (device.type() != devices.front().type()) {
      throw std::invalid_argument("data_parallel: the devices must be all GPUs or all CPU, not " +
                                  devices.front().str() + " and " + device.str());
    }
  }
#if TUTORIAL_WITH_CUDA
  return model.visit(
      [&](const auto& module) { return replicate_and_apply(module, input, devices); });
#else
  throw UserError("DataParallel over several devices needs a CUDA build of LibTorch");
#endif
}

std::string describe_data_parallel(const std::vector<torch::Device>& gpus, torch::Device device) {
  if (gpus.size() > 1) return "Let's use " + std::to_string(gpus.size()) + " GPUs!\n";
  return "Note: DataParallel needs two or more GPUs; training on " + device.str() + " alone\n";
}

ForwardFn data_parallel_forward(const Classifier& model, const std::vector<torch::Device>& devices) {
  return [model, devices](const torch::Tensor& x) { return data_parallel(model, x, devices); };
}

}  // namespace tutorial
