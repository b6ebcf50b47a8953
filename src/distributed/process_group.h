// A process group on PyTorch's own distributed engine (c10d): rendezvous
// through a TCPStore hosted by rank 0, then NCCL for GPUs or Gloo for CPUs.
#pragma once

#define TUTORIAL_COMPAT_C10D
#include "core/torch_compat.h"
#include "distributed/heartbeat.h"
#include "distributed/launch_env.h"
#include "distributed/settings_agreement.h"

#include <torch/arg.h>
#include <torch/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace c10d {
class Store;
}

namespace tutorial {

struct ProcessGroupOptions {
  // "auto" (NCCL for a CUDA device, else Gloo), "nccl" or "gloo".
  TORCH_ARG(std::string, backend) = "auto";
  TORCH_ARG(std::chrono::milliseconds, timeout) = std::chrono::minutes(30);
  // Settings every rank must share, compared right after the rendezvous
  // (settings_agreement.h); none by default.
  TORCH_ARG(Settings, must_agree) = {};
};

class ProcessGroup {
 public:
  // Blocks until every rank has joined or `timeout` passes (a UserError then);
  // then ranks whose `must_agree` settings differ stop, each with one line.
  ProcessGroup(const LaunchEnv& env, const std::string& backend, torch::Device device,
               std::chrono::milliseconds timeout, const Settings& must_agree = {});
  ProcessGroup(const LaunchEnv& env, torch::Device device, const ProcessGroupOptions& options)
      : ProcessGroup(env, options.backend(), device, options.timeout(), options.must_agree()) {}
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

  // Waits for a collective of collectives(). When it fails (a timeout, a lost
  // connection), throws a one-line UserError saying which rank stopped
  // answering, found by the ranks' heartbeats: "rank 0: the gradient
  // all-reduce timed out after 20 s: rank 1 (22 s ago) stopped answering: ...".
  // `what` names the collective for that message.
  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what);

 private:
  void run_collective(
      torch::Tensor& tensor, const std::string& what,
      const std::function<c10::intrusive_ptr<c10d::Work>(std::vector<torch::Tensor>&)>& collective);
  std::string explain_failure(const std::string& what, const std::string& cause) const;

  int64_t rank_, world_size_;
  std::string backend_name_;
  torch::Device device_;
  std::chrono::milliseconds timeout_;
  std::string where_;    // the store's host:port
  bool failed_ = false;  // a collective failed: no final barrier
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<compat::CollectiveGroup> group_;
  std::unique_ptr<Heartbeat> heartbeat_;
};

// The variable to set (name, value) so that a NCCL collective stuck past the
// timeout ends the process instead of hanging it forever: NCCL_ASYNC_ERROR_HANDLING=1
// where LibTorch leaves that off by default (before 2.0) and the user set
// neither it nor TORCH_NCCL_ASYNC_ERROR_HANDLING; nullopt otherwise.
std::optional<std::pair<std::string, std::string>> nccl_error_handling_setting(
    const EnvLookup& env, bool on_by_default);

}  // namespace tutorial
