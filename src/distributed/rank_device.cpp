#include "distributed/rank_device.h"

#include "build_config.h"
#include "core/device.h"
#include "core/errors.h"

#if TUTORIAL_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace tutorial {

int64_t rank_gpu_index(const LaunchEnv& env, int64_t visible_gpus) {
  if (visible_gpus >= env.local_world_size && env.local_rank < visible_gpus) return env.local_rank;
  if (env.gpus_bound_per_task && visible_gpus >= 1) return 0;
  throw UserError("local rank " + std::to_string(env.local_rank) + " has no GPU of its own: " +
                  std::to_string(env.local_world_size) + " ranks run on this node, and each sees " +
                  std::to_string(visible_gpus) +
                  " GPU(s) (start at most one rank per GPU, use srun --gpus-per-task=1 under "
                  "Slurm, or --device cpu)");
}

torch::Device select_rank_device(const std::string& device_option, const LaunchEnv& env) {
  if (device_option == "cpu") return torch::kCPU;
  const int64_t gpus = cuda_device_count();
  if (device_option == "auto" && gpus == 0) return torch::kCPU;
  if (device_option != "auto" && device_option != "cuda") {
    throw UserError("--device: distributed stages take auto, cpu or cuda (one GPU per rank, "
                    "by local rank), not '" + device_option + "'");
  }
  const auto index = static_cast<c10::DeviceIndex>(rank_gpu_index(env, gpus));
#if TUTORIAL_WITH_CUDA
  c10::cuda::set_device(index);
#endif
  return torch::Device(torch::kCUDA, index);
}

}  // namespace tutorial
