#include "distributed/distributed_data_parallel.h"

#include "core/console.h"
#include "distributed/bucket_assignment.h"
#include "distributed/completion_poller.h"
#include "timeline/timeline.h"

#include <ATen/ScalarOps.h>
#include <torch/csrc/autograd/engine.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <map>
#include <mutex>

namespace tutorial {
namespace {

// Concatenates tensors of one dtype, broadcasts them from rank 0, copies back.
void broadcast_coalesced(ProcessGroup& group, const std::vector<torch::Tensor>& tensors) {
  std::map<c10::ScalarType, std::vector<torch::Tensor>> by_type;
  for (const auto& t : tensors) by_type[t.scalar_type()].push_back(t);
  for (auto& [type, group_tensors] : by_type) {
    std::vector<torch::Tensor> flat;
    for (const auto& t : group_tensors) flat.push_back(t.detach().reshape(-1));
    auto buffer = torch::cat(flat);
    group.broadcast_from_rank0(buffer);
    int64_t offset = 0;
    torch::NoGradGuard no_grad;
    for (auto& t : group_tensors) {
      t.copy_(buffer.slice(0, offset, offset + t.numel()).view_as(t));
      offset += t.numel();
    }
  }
}

// `param`'s slice of a flat bucket, with the parameter's own sizes and
// strides (channels-last weights keep their layout) where they cover a dense
// block of memory. It shares the bucket's storage without being an autograd
// view of it: optimizer.zero_grad() of LibTorch 1.13 calls detach_() on each
// gradient, which a view refuses.
torch::Tensor bucket_slice(const torch::Tensor& buffer, int64_t offset, const torch::Tensor& param) {
  const auto strides = param.is_non_overlapping_and_dense()
                           ? param.strides().vec()
                           : buffer.slice(0, 0, param.numel()).view(param.sizes()).strides().vec();
  torch::NoGradGuard no_grad;
  auto slice = torch::empty({0}, buffer.options());
  slice.set_(buffer.storage(), buffer.storage_offset() + offset, param.sizes(), strides);
  return slice;
}

}  // namespace

// Everything the gradient hooks touch, and the hooks themselves: one post
// hook on each parameter's gradient accumulator, removed again by the
// destructor. Hooks and the end-of-backward callback hold a weak_ptr to it,
// so one that runs after the DistributedDataParallel is gone does nothing.
//
// Gradients live in the buckets (PyTorch's gradient_as_bucket_view): each
// parameter's .grad becomes its slice of a bucket, so the averaged
// result needs no copying back, and a gradient accumulated into that view
// (no_sync, or gradients zeroed rather than freed) is divided where it is. A
// gradient the backward made anew (the step before freed them, as
// zero_grad(set_to_none) does) is copied in once, divided on the way, as
// PyTorch's reducer does. With one rank an all-reduce is the identity: the
// hooks then only check that every parameter got a gradient.
struct DistributedDataParallel::Reducer : std::enable_shared_from_this<Reducer> {
  struct Bucket {
    std::vector<size_t> params;  // indices into `params`
    std::vector<int64_t> offsets;
    int64_t numel = 0;
    size_t pending = 0;          // gradients not yet ready in this backward
    torch::Tensor buffer;
    c10::intrusive_ptr<c10d::Work> work;
    Timeline::Clock::time_point ready_at;  // its last gradient's, while a timeline records
  };

  ProcessGroup& group;
  bool find_unused;
  bool communicates;          // more than one rank
  std::vector<torch::Tensor> params;
  std::vector<std::string> names;
  std::vector<torch::Tensor> views;  // params[i]'s slice of its bucket (bucket_slice)
  std::vector<size_t> bucket_of;
  std::vector<Bucket> buckets;
  // The nodes our hooks are on, held: a parameter holds its accumulator only weakly.
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;
  std::vector<uintptr_t> hook_keys;  // accumulators[i]'s hook of ours (Node::add_post_hook)

  std::mutex mutex;
  bool armed = false;         // a forward ran since the last reduction
  bool syncing = true;        // false inside no_sync
  bool callback_queued = false;
  std::vector<bool> ready;
  size_t next_bucket = 0;     // buckets launch in order: the same order on every rank
  int64_t launched = 0;       // all-reduces launched, ever
  Timeline* timeline = nullptr;
  std::unique_ptr<CompletionPoller> poller;  // CUDA buckets' completion times

  Reducer(ProcessGroup& g, bool find_unused_parameters)
      : group(g), find_unused(find_unused_parameters), communicates(g.world_size() > 1) {}

  // One flat buffer per bucket of compute_bucket_assignment_by_size, and
  // views[k], parameter k's place in its bucket.
  void build_buckets(double bucket_cap_mb, double first_bucket_cap_mb) {
    std::vector<BucketedParameter> bucketed;
    for (const auto& p : params) bucketed.push_back({p.numel(), p.scalar_type(), p.device()});
    bucket_of.resize(params.size());
    views.resize(params.size());
    for (auto& indices :
         compute_bucket_assignment_by_size(bucketed, bucket_cap_mb, first_bucket_cap_mb)) {
      Bucket bucket;
      bucket.params = std::move(indices);
      for (const size_t k : bucket.params) {
        bucket.offsets.push_back(bucket.numel);
        bucket.numel += params[k].numel();
        bucket_of[k] = buckets.size();
      }
      bucket.buffer = torch::zeros({bucket.numel}, params[bucket.params.front()].options());
      for (size_t i = 0; i < bucket.params.size(); ++i) {
        const size_t k = bucket.params[i];
        views[k] = bucket_slice(bucket.buffer, bucket.offsets[i], params[k]);
      }
      buckets.push_back(std::move(bucket));
    }
  }

  // Tells the reducer that parameter `index` has its gradient for this backward.
  class GradientReadyHook : public torch::autograd::FunctionPostHook {
   public:
    GradientReadyHook(std::weak_ptr<Reducer> reducer, size_t index)
        : reducer_(std::move(reducer)), index_(index) {}
    torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                              const torch::autograd::variable_list&) override {
      if (auto reducer = reducer_.lock()) reducer->mark_ready(index_);
      return outputs;
    }

   private:
    std::weak_ptr<Reducer> reducer_;
    size_t index_;
  };

  void add_hooks() {
    for (size_t k = 0; k < params.size(); ++k) {
      auto accumulator = torch::autograd::impl::grad_accumulator(params[k]);
      hook_keys.push_back(accumulator->add_post_hook(
          std::make_unique<GradientReadyHook>(weak_from_this(), k)));
      accumulators.push_back(std::move(accumulator));
    }
  }

  // Removes exactly the hooks add_hooks() added, by identity; others stay.
  void remove_hooks() {
    for (size_t k = 0; k < accumulators.size(); ++k) accumulators[k]->del_post_hook(hook_keys[k]);
    accumulators.clear();
    hook_keys.clear();
  }

  void arm() {
    std::lock_guard<std::mutex> lock(mutex);
    armed = syncing;
    callback_queued = false;
    next_bucket = 0;
    ready.assign(params.size(), false);
    for (auto& b : buckets) {
      b.pending = b.params.size();
      b.work.reset();
    }
  }

  void mark_ready(size_t index) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed || ready[index]) return;
    if (!callback_queued) {
      // Runs once backward has finished every node: wait, then check.
      std::weak_ptr<Reducer> weak = shared_from_this();
      torch::autograd::Engine::get_default_engine().queue_callback([weak] {
        if (auto self = weak.lock()) self->finish();
      });
      callback_queued = true;
    }
    ready[index] = true;
    if (!communicates) return;
    move_into_bucket(index);
    auto& bucket = buckets[bucket_of[index]];
    if (--bucket.pending == 0 && tracing()) bucket.ready_at = Timeline::Clock::now();
    launch_ready_buckets();
  }

  bool tracing() const { return timeline && timeline->recording(); }

  // Makes params[index].grad its bucket view holding grad / world size.
  void move_into_bucket(size_t index) {
    torch::NoGradGuard no_grad;
    auto& grad = params[index].mutable_grad();
    auto& view = views[index];
    const double world = static_cast<double>(group.world_size());
    if (!grad.defined()) {
      view.zero_();  // an unused parameter (find_unused_parameters)
    } else if (grad.is_alias_of(view)) {
      view.div_(world);
    } else {
      at::mul_out(view, grad, at::native::wrapped_scalar_tensor(1.0 / world));
    }
    grad = view;
  }

  void launch_ready_buckets() {
    while (next_bucket < buckets.size() && buckets[next_bucket].pending == 0) {
      auto& bucket = buckets[next_bucket];
      std::vector<torch::Tensor> tensors{bucket.buffer};
      bucket.work = group.collectives().allreduce(tensors);
      if (tracing()) trace_all_reduce(next_bucket);
      ++next_bucket;
      ++launched;
    }
  }

  void finish() {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed) return;
    armed = false;
    std::string unused;
    for (size_t i = 0; i < params.size(); ++i) {
      if (ready[i]) continue;
      if (!find_unused) {
        unused += (unused.empty() ? "" : ", ") + names[i];
        continue;
      }
      ready[i] = true;
      if (communicates) {
        move_into_bucket(i);
        --buckets[bucket_of[i]].pending;
      } else if (!params[i].grad().defined()) {
        torch::NoGradGuard no_grad;
        params[i].mutable_grad() = torch::zeros_like(params[i]);
      }
    }
    if (!unused.empty()) {
      throw std::runtime_error(
          "DistributedDataParallel: these parameters got no gradient in this step: " + unused +
          " (every rank must use every parameter, or set find_unused_parameters)");
    }
    if (!communicates) return;
    launch_ready_buckets();
    const bool traced = tracing();
    // Every gradient is computed (the clock is read only while tracing).
    const auto wait_start = traced ? Timeline::Clock::now() : Timeline::Clock::time_point();
    for (auto& bucket : buckets) group.wait(bucket.work, "the gradient all-reduce");
    if (traced) {
      timeline->synchronize_device();
      timeline->add_span(kComputeLane, "all-reduce wait", "communication", wait_start,
                         Timeline::Clock::now());
    }
  }

  // Bucket k's all-reduce, just launched: its span ends when it completes.
  void trace_all_reduce(size_t k) {
    auto& bucket = buckets[k];
    if (bucket.ready_at == Timeline::Clock::time_point()) bucket.ready_at = Timeline::Clock::now();
    const int64_t lane = kFirstBucketLane + static_cast<int64_t>(k);
    const int64_t step = timeline->step();
    const std::string args = strprintf(
        R"("bucket": %zu, "bytes": %lld, "parameters": %zu, "ready_ts": %.3f)", k,
        static_cast<long long>(bucket.buffer.nbytes()), bucket.params.size(),
        timeline->timestamp(bucket.ready_at));
    timeline->add_instant(lane, "bucket ready", bucket.ready_at, strprintf(R"("bucket": %zu)", k),
                          step);
    auto record = [timeline = timeline, lane, launch = Timeline::Clock::now(), args, step] {
      timeline->add_span(lane, "all-reduce", "communication", launch, Timeline::Clock::now(),
                         args, step);
    };
    bucket.ready_at = Timeline::Clock::time_point();
    if (bucket.buffer.is_cuda()) {
      // NCCL's future completes when the collective is queued: ask its events.
      if (!poller) poller = std::make_unique<CompletionPoller>();
      poller->watch(bucket.work, std::move(record));
    } else {
      // Gloo completes the future on its own thread when the all-reduce is done.
      bucket.work->getFuture()->addCallback([record](c10::ivalue::Future&) { record(); });
    }
  }

  void describe_buckets() {
    std::string list;
    for (size_t k = 0; k < buckets.size(); ++k) {
      const auto bytes = static_cast<long long>(buckets[k].buffer.nbytes());
      timeline->name_lane(kFirstBucketLane + static_cast<int64_t>(k),
                          strprintf("bucket %zu (%zu parameters, %.1f KB)", k,
                                    buckets[k].params.size(), bytes / 1024.0));
      list += strprintf(R"(%s{"index": %zu, "bytes": %lld, "parameters": %zu})",
                        k == 0 ? "" : ", ", k, bytes, buckets[k].params.size());
    }
    timeline->describe("buckets", "[" + list + "]");
    timeline->describe("backend", "\"" + group.backend_name() + "\"");
  }
};

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<torch::nn::Module> module,
                                                 ProcessGroup& group, DdpOptions options)
    : module_(std::move(module)), group_(group), options_(options) {
  reducer_ = std::make_shared<Reducer>(group_, options_.find_unused_parameters());
  auto& r = *reducer_;
  for (const auto& p : module_->named_parameters()) {
    if (!p.value().requires_grad()) continue;
    r.params.push_back(p.value());
    r.names.push_back(p.key());
  }

  // Same start everywhere: rank 0's parameters and buffers.
  std::vector<torch::Tensor> state = module_->parameters();
  for (const auto& b : module_->buffers()) state.push_back(b);
  broadcast_coalesced(group_, state);

  r.build_buckets(options_.bucket_cap_mb(), options_.first_bucket_cap_mb());
  r.add_hooks();
}

DistributedDataParallel::~DistributedDataParallel() { reducer_->remove_hooks(); }

void DistributedDataParallel::prepare_forward() {
  if (options_.broadcast_buffers() && module_->is_training() && group_.world_size() > 1) {
    const auto buffers = module_->buffers();
    if (!buffers.empty()) broadcast_coalesced(group_, buffers);
  }
  reducer_->arm();
}

torch::Tensor DistributedDataParallel::forward(
    const std::function<torch::Tensor(const torch::Tensor&)>& module_forward,
    const torch::Tensor& input) {
  prepare_forward();
  return module_forward(input);
}

void DistributedDataParallel::set_timeline(Timeline* timeline) {
  std::lock_guard<std::mutex> lock(reducer_->mutex);
  reducer_->timeline = timeline;
  if (timeline) reducer_->describe_buckets();
}

int64_t DistributedDataParallel::num_buckets() const {
  return static_cast<int64_t>(reducer_->buckets.size());
}

int64_t DistributedDataParallel::all_reduces_launched() const {
  std::lock_guard<std::mutex> lock(reducer_->mutex);
  return reducer_->launched;
}

void DistributedDataParallel::require_backward_grad_sync(bool sync) {
  std::lock_guard<std::mutex> lock(reducer_->mutex);
  reducer_->syncing = sync;
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& ddp) : ddp_(ddp) {
  ddp_.require_backward_grad_sync(false);
}

DistributedDataParallel::NoSync::~NoSync() { ddp_.require_backward_grad_sync(true); }

}  // namespace tutorial
