// Choosing where tensors live and how many CPU threads the math uses.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <string>

namespace tutorial {

// Where a model's parameters live (the CPU for a model without any).
torch::Device device_of(const torch::nn::Module& model);

// "auto" (CUDA device 0 if there is one, else the CPU), "cpu", "cuda", "cuda:N".
// Throws UserError for a malformed name or a GPU that is not there.
torch::Device resolve_device(const std::string& name);

// Number of CUDA devices this process can see (0 without a CUDA LibTorch).
int64_t cuda_device_count();

// Sets LibTorch's intra-op threads: `threads`; when 0, OMP_NUM_THREADS if it
// is set (as PyTorch does), else the machine's cores shared by the
// `processes_per_machine` ranks on it (some builds start with one thread,
// leaving cores idle; several ranks each taking every core thrash).
// Returns the count.
int64_t configure_cpu_threads(int64_t threads, int64_t processes_per_machine = 1);

// "cpu", or "cuda:0 (NVIDIA H100 80GB HBM3)" where the name is known.
std::string describe_device(const torch::Device& device);

}  // namespace tutorial
