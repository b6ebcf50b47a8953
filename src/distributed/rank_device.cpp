#include "distributed/rank_device.h"

#include "build_config.h"
#include "core/device.h"
#include "core/errors.h"

#if TUTORIAL_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace tutorial {

torch::Device select_rank_device(const std::string& device_option, int64_t local_rank) {
  if (device_option == "cpu") return torch::kCPU;
  const int64_t gpus = cuda_device_count();
  if (device_option == "auto" && gpus == 0) return torch::kCPU;
  if (device_option != "auto" && device_option != "cuda") {
    throw UserError("--device: distributed stages take auto, cpu or cuda (one GPU per rank, "
                    "by local rank), not '" + device_option + "'");
  }
  if (local_rank >= gpus) {
    throw UserError("local rank " + std::to_string(local_rank) + " has no GPU of its own: this " +
                    "machine has " + std::to_string(gpus) +
                    " (start at most that many ranks per node, or use --device cpu)");
  }
#if TUTORIAL_WITH_CUDA
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(local_rank));
#endif
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
}

}  // namespace tutorial
