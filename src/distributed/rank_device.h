// One GPU per process, chosen by the local rank, as torchrun's users do with
// torch.cuda.set_device(local_rank).
#pragma once

#include "distributed/launch_env.h"

#include <torch/types.h>

#include <string>

namespace tutorial {

// Which of the `visible_gpus` GPUs this process sees is the rank's own: its
// local rank where it sees every GPU of its node (one per rank at least);
// the first where Slurm shows each task only its own (env.gpus_bound_per_task).
// Throws UserError when the node's ranks outnumber its GPUs.
int64_t rank_gpu_index(const LaunchEnv& env, int64_t visible_gpus);

// "auto": the rank's GPU (rank_gpu_index) when this machine has GPUs, else
// the CPU; "cpu"; "cuda": the rank's GPU. Makes it the current CUDA device
// before any other CUDA work.
torch::Device select_rank_device(const std::string& device_option, const LaunchEnv& env);

}  // namespace tutorial
