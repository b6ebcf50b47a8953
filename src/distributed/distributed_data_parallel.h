// DistributedDataParallel for the LibTorch C++ frontend, on autograd hooks.
//
// At construction, rank 0's parameters and buffers are copied to every rank.
// During backward, a hook on each parameter's gradient accumulator marks it
// ready; when every gradient of a bucket (about 25 MB, reverse parameter
// order, a small first bucket) is ready, the bucket is all-reduced
// asynchronously, so communication overlaps the rest of backward. At the end
// of backward every bucket is waited for, so optimizer.step() sees the same
// gradients on every rank. Each gradient is its parameter's slice of a bucket
// (PyTorch's gradient_as_bucket_view), so nothing is copied back; with one
// rank nothing is copied or sent at all.
#pragma once

#include "distributed/process_group.h"

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <memory>
#include <utility>

namespace tutorial {

class Timeline;

// Set in a chain, as LibTorch's module options:
// DdpOptions().bucket_cap_mb(25).find_unused_parameters(true).
struct DdpOptions {
  TORCH_ARG(double, bucket_cap_mb) = 25.0;
  // Small, so communication starts early.
  TORCH_ARG(double, first_bucket_cap_mb) = 1.0;
  // Rank 0's buffers (BatchNorm statistics) to every rank before each forward.
  TORCH_ARG(bool, broadcast_buffers) = true;
  // Parameters that get no gradient in a step: an error naming them (false),
  // or counted as zero gradients (true), as PyTorch's option of that name.
  TORCH_ARG(bool, find_unused_parameters) = false;
};

class DistributedDataParallel {
 public:
  DistributedDataParallel(std::shared_ptr<torch::nn::Module> module, ProcessGroup& group,
                          DdpOptions options = {});
  // Removes the hooks it added to the parameters' gradient accumulators: a
  // backward after it is the module's own, with no all-reduce.
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  // Python's ddp_model(a, b, ...): `model.forward(args...)`, whatever it takes
  // and returns (one tensor, several, a tuple), after prepare_forward(). The
  // model is the module this wraps, or anything whose forward runs it.
  template <typename Model, typename... Args>
  auto forward(Model& model, Args&&... args)
      -> decltype(model.forward(std::forward<Args>(args)...)) {
    prepare_forward();
    return model.forward(std::forward<Args>(args)...);
  }
  // The same for a TORCH_MODULE holder (MyNet, for struct MyNetImpl).
  template <typename Contained, typename... Args>
  auto forward(torch::nn::ModuleHolder<Contained>& model, Args&&... args)
      -> decltype(model->forward(std::forward<Args>(args)...)) {
    prepare_forward();
    return model->forward(std::forward<Args>(args)...);
  }
  // The same for a function of one tensor: a lambda around the model, say.
  torch::Tensor forward(const std::function<torch::Tensor(const torch::Tensor&)>& module_forward,
                        const torch::Tensor& input);

  // What a forward under DDP needs first, for a forward that is called some
  // other way (a member function not named forward, a free function): rank
  // 0's buffers to every rank (in training mode), and the next backward set to
  // all-reduce. Call it, then the model, then backward.
  void prepare_forward();

  // Gradient accumulation: backward passes while the returned guard lives do
  // not communicate; the first one after it all-reduces the accumulated sum.
  // (The guard is require_backward_grad_sync(false), then (true) again.)
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp);
    ~NoSync();
   private:
    DistributedDataParallel& ddp_;
  };
  NoSync no_sync() { return NoSync(*this); }

  // PyTorch's ddp.require_backward_grad_sync: whether the backward after the
  // next forward all-reduces (true, the default) or only accumulates.
  void require_backward_grad_sync(bool sync);

  // While `timeline` records (timeline/timeline.h): each bucket's all-reduce
  // (its last gradient ready, launched, completed) on a lane of its own, and
  // the wait at the end of backward. Null (the default): nothing recorded.
  // The timeline must outlive this wrapper's last backward.
  void set_timeline(Timeline* timeline);

  int64_t num_buckets() const;
  // Bucket all-reduces launched since construction (tests count them).
  int64_t all_reduces_launched() const;
  const std::shared_ptr<torch::nn::Module>& module() const { return module_; }

 private:
  struct Reducer;  // the gradient hooks and their shared state (distributed_data_parallel.cpp)

  std::shared_ptr<torch::nn::Module> module_;
  ProcessGroup& group_;
  DdpOptions options_;
  std::shared_ptr<Reducer> reducer_;
};

}  // namespace tutorial
