// A process group on PyTorch's own distributed engine (c10d): rendezvous
// through a TCPStore hosted by rank 0, then NCCL for GPUs or Gloo for CPUs.
#pragma once

#define TUTORIAL_COMPAT_C10D
#include "core/torch_compat.h"
#include "distributed/launch_env.h"

#include <torch/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace c10d {
class Store;
}

namespace tutorial {

class ProcessGroup {
 public:
  // backend: "auto" (NCCL for a CUDA device, else Gloo), "nccl" or "gloo".
  // Blocks until every rank has joined or `timeout` passes (a UserError then).
  ProcessGroup(const LaunchEnv& env, const std::string& backend, torch::Device device,
               std::chrono::milliseconds timeout);
  // Leaves in order: a barrier, so that no rank tears down while others still
  // talk to it (the tutorial's "Broken pipe" at exit), then the group, then the store.
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int64_t rank() const { return rank_; }
  int64_t world_size() const { return world_size_; }
  const std::string& backend_name() const { return backend_name_; }
  compat::CollectiveGroup& collectives() { return *group_; }

  void barrier();
  // In place, summed over ranks, waited for.
  void all_reduce_sum(torch::Tensor& tensor);
  void broadcast_from_rank0(torch::Tensor& tensor);

 private:
  void run_collective(
      torch::Tensor& tensor,
      const std::function<c10::intrusive_ptr<c10d::Work>(std::vector<torch::Tensor>&)>& collective);

  int64_t rank_, world_size_;
  std::string backend_name_;
  torch::Device device_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<compat::CollectiveGroup> group_;
};

// Backends this build of LibTorch can create: "gloo" and/or "nccl".
std::vector<std::string> available_backends();

}  // namespace tutorial
