// One GPU per process, chosen by the local rank, as torchrun's users do with
// torch.cuda.set_device(local_rank).
#pragma once

#include <torch/types.h>

#include <string>

namespace tutorial {

// "auto": cuda:<local_rank> when this machine has GPUs, else the CPU; "cpu";
// "cuda": cuda:<local_rank>. Makes it the current CUDA device before any other
// CUDA work. Throws UserError when local_rank has no GPU of its own.
torch::Device select_rank_device(const std::string& device_option, int64_t local_rank);

}  // namespace tutorial
