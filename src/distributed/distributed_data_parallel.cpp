#include "distributed/distributed_data_parallel.h"

#include "core/errors.h"

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

}  // namespace

// Everything the gradient hooks touch. Hooks hold a weak_ptr to it, so a hook
// that outlives its DistributedDataParallel does nothing.
struct DistributedDataParallel::Reducer : std::enable_shared_from_this<Reducer> {
  struct Bucket {
    std::vector<size_t> params;  // indices into `params`
    std::vector<int64_t> offsets;
    int64_t numel = 0;
    size_t pending = 0;          // gradients not yet ready in this backward
    torch::Tensor buffer;
    c10::intrusive_ptr<c10d::Work> work;
  };

  ProcessGroup& group;
  bool find_unused;
  std::vector<torch::Tensor> params;
  std::vector<std::string> names;
  std::vector<size_t> bucket_of;
  std::vector<Bucket> buckets;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;  // keep hooks alive

  std::mutex mutex;
  bool armed = false;         // a forward ran since the last reduction
  bool syncing = true;        // false inside no_sync
  bool callback_queued = false;
  std::vector<bool> ready;
  size_t next_bucket = 0;     // buckets launch in order: the same order on every rank

  Reducer(ProcessGroup& g, bool find_unused_parameters) : group(g), find_unused(find_unused_parameters) {}

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
      // Runs once backward has finished every node: wait, then hand gradients back.
      std::weak_ptr<Reducer> weak = shared_from_this();
      torch::autograd::Engine::get_default_engine().queue_callback([weak] {
        if (auto self = weak.lock()) self->finish();
      });
      callback_queued = true;
    }
    ready[index] = true;
    --buckets[bucket_of[index]].pending;
    launch_ready_buckets();
  }

  void launch_ready_buckets() {
    while (next_bucket < buckets.size() && buckets[next_bucket].pending == 0) {
      launch(buckets[next_bucket++]);
    }
  }

  void launch(Bucket& bucket) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < bucket.params.size(); ++i) {
      const auto& p = params[bucket.params[i]];
      auto slice = bucket.buffer.slice(0, bucket.offsets[i], bucket.offsets[i] + p.numel());
      if (p.grad().defined()) {
        slice.copy_(p.grad().reshape(-1));
      } else {
        slice.zero_();  // an unused parameter (find_unused_parameters)
      }
    }
    bucket.buffer.div_(static_cast<double>(group.world_size()));
    std::vector<torch::Tensor> tensors{bucket.buffer};
    bucket.work = group.collectives().allreduce(tensors);
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
      --buckets[bucket_of[i]].pending;
    }
    if (!unused.empty()) {
      throw std::runtime_error(
          "DistributedDataParallel: these parameters got no gradient in this step: " + unused +
          " (every rank must use every parameter, or set find_unused_parameters)");
    }
    launch_ready_buckets();
    torch::NoGradGuard no_grad;
    for (auto& bucket : buckets) {
      group.wait(bucket.work, "the gradient all-reduce");
      for (size_t i = 0; i < bucket.params.size(); ++i) {
        auto& p = params[bucket.params[i]];
        auto averaged =
            bucket.buffer.slice(0, bucket.offsets[i], bucket.offsets[i] + p.numel()).view_as(p);
        if (p.grad().defined()) {
          p.mutable_grad().copy_(averaged);
        } else {
          p.mutable_grad() = averaged.clone();
        }
      }
    }
  }
};

namespace {

// Tells the reducer that parameter `index` has its gradient for this backward.
class GradientReadyHook : public torch::autograd::FunctionPostHook {
 public:
  GradientReadyHook(std::weak_ptr<DistributedDataParallel::Reducer> reducer, size_t index)
      : reducer_(std::move(reducer)), index_(index) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    if (auto reducer = reducer_.lock()) reducer->mark_ready(index_);
    return outputs;
  }

 private:
  std::weak_ptr<DistributedDataParallel::Reducer> reducer_;
  size_t index_;
};

}  // namespace

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<torch::nn::Module> module,
                                                 ProcessGroup& group, DdpOptions options)
    : module_(std::move(module)), group_(group), options_(options) {
  reducer_ = std::make_shared<Reducer>(group_, options_.find_unused_parameters);
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

  // Buckets in reverse order, roughly the order gradients become ready.
  const double bytes_per_mb = 1024.0 * 1024.0;
  r.bucket_of.resize(r.params.size());
  for (size_t k = r.params.size(); k-- > 0;) {
    const auto& p = r.params[k];
    const double cap = (r.buckets.size() <= 1 ? options_.first_bucket_cap_mb
                                              : options_.bucket_cap_mb) * bytes_per_mb;
    bool new_bucket = r.buckets.empty();
    if (!new_bucket) {
      const auto& last = r.buckets.back();
      const auto& first_param = r.params[last.params.front()];
      new_bucket = first_param.scalar_type() != p.scalar_type() ||
                   first_param.device() != p.device() ||
                   static_cast<double>(last.numel * p.element_size()) >= cap;
    }
    if (new_bucket) r.buckets.emplace_back();
    auto& bucket = r.buckets.back();
    bucket.params.push_back(k);
    bucket.offsets.push_back(bucket.numel);
    bucket.numel += p.numel();
    r.bucket_of[k] = r.buckets.size() - 1;
  }
  for (auto& bucket : r.buckets) {
    bucket.buffer = torch::zeros({bucket.numel}, r.params[bucket.params.front()].options());
  }

  for (size_t k = 0; k < r.params.size(); ++k) {
    auto accumulator = torch::autograd::impl::grad_accumulator(r.params[k]);
    accumulator->add_post_hook(std::make_unique<GradientReadyHook>(reducer_, k));
    r.accumulators.push_back(std::move(accumulator));
  }
}

DistributedDataParallel::~DistributedDataParallel() = default;

torch::Tensor DistributedDataParallel::forward(
    const std::function<torch::Tensor(const torch::Tensor&)>& module_forward,
    const torch::Tensor& input) {
  if (options_.broadcast_buffers && module_->is_training()) {
    const auto buffers = module_->buffers();
    if (!buffers.empty()) broadcast_coalesced(group_, buffers);
  }
  reducer_->arm();
  return module_forward(input);
}

int64_t DistributedDataParallel::num_buckets() const {
  return static_cast<int64_t>(reducer_->buckets.size());
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& ddp) : ddp_(ddp) {
  std::lock_guard<std::mutex> lock(ddp_.reducer_->mutex);
  ddp_.reducer_->syncing = false;
}

DistributedDataParallel::NoSync::~NoSync() {
  std::lock_guard<std::mutex> lock(ddp_.reducer_->mutex);
  ddp_.reducer_->syncing = true;
}

}  // namespace tutorial
