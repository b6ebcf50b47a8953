// --cuda-graph: one whole training step (forward, loss, backward, optimizer
// step) captured once as a CUDA graph and then replayed, so a step costs one
// graph launch instead of hundreds of kernel launches from the host.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tutorial {

// One training step on a batch, returning its loss. For capture it must keep
// every tensor it writes where it was (gradients zeroed in place, optimizer
// state created before), which the engine's step does.
using TrainStep =
    std::function<torch::Tensor(const torch::Tensor& images, const torch::Tensor& labels)>;

// Why a training step cannot be captured as a CUDA graph here, or "" if it
// can. `lr_on_device`: the optimizer reads its rate from a device tensor
// (ForeachSgd::hold_lr_on_device), so any schedule replays. `loss_scaling`:
// fp16's GradScaler, which decides on the host whether a step is taken.
std::string cuda_graph_unavailable_reason(torch::Device device, const std::string& schedule,
                                          int64_t world_size, bool lr_on_device,
                                          bool loss_scaling = false);

// Runs `step` eagerly for its first `warmup_steps` calls on a side stream
// (where cuDNN's autotuner, the optimizer's state and the allocator settle),
// then captures it into a CUDA graph with static input buffers and replays
// that. A batch of another shape (an epoch's last, smaller batch) runs
// eagerly. `lr` is the learning rate the captured kernels bake in: a new one
// is captured again (an optimizer whose rate lives in a device tensor passes
// a constant instead). If capture fails, it says why, once, and trains
// eagerly from then on.
class GraphedStep {
 public:
  explicit GraphedStep(TrainStep step, int64_t warmup_steps = 3);
  ~GraphedStep();
  GraphedStep(const GraphedStep&) = delete;
  GraphedStep& operator=(const GraphedStep&) = delete;

  torch::Tensor run(const torch::Tensor& images, const torch::Tensor& labels, double lr);

  int64_t captures() const { return captures_; }
  int64_t replays() const { return replays_; }

 private:
  struct Graph;  // the captured graph and its static tensors (CUDA builds only)
  bool capture(const torch::Tensor& images, const torch::Tensor& labels, double lr);

  TrainStep step_;
  [[maybe_unused]] int64_t warmup_steps_;  // (unused where there is no CUDA)
  int64_t calls_ = 0, captures_ = 0, replays_ = 0;
  [[maybe_unused]] bool capture_failed_ = false;
  std::unique_ptr<Graph> graph_;
};

}  // namespace tutorial
