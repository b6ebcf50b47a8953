#define TUTORIAL_COMPAT_CUDA_GRAPH
#include "train/graphed_step.h"

#include "build_config.h"
#include "core/console.h"
#include "core/errors.h"
#include "core/torch_compat.h"

#if TUTORIAL_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace tutorial {

std::string cuda_graph_unavailable_reason(torch::Device device, const std::string& schedule,
                                          int64_t world_size, bool lr_on_device,
                                          bool loss_scaling) {
  if (!device.is_cuda()) return "CUDA graphs need a CUDA device, not " + device.str();
  if (!TUTORIAL_WITH_CUDA) return "this LibTorch was built without CUDA";
  if (schedule == "cosine" && !lr_on_device) {
    return "--schedule cosine changes the learning rate every step, and this optimizer's "
           "captured step holds it fixed";
  }
  if (loss_scaling) {
    return "--amp-dtype fp16's loss scaling decides on the host whether each step is taken";
  }
  if (world_size > 1) {
    return "DDP's gradient all-reduce is not captured (world size " + std::to_string(world_size) +
           ")";
  }
  return "";
}

#if TUTORIAL_WITH_CUDA

struct GraphedStep::Graph {
  at::cuda::CUDAGraph graph;
  torch::Tensor images, labels, loss;  // static: inputs copied in, loss read out
  double lr = 0;
};

namespace {

// Makes `waiting` wait for the work queued so far on `done`.
void wait_for(const c10::cuda::CUDAStream& waiting, const c10::cuda::CUDAStream& done) {
  at::cuda::CUDAEvent event;
  event.record(done);
  event.block(waiting);
}

// Ends a capture an exception interrupted, so the stream can be used again.
void abandon_capture(const c10::cuda::CUDAStream& stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream.stream(), &status) != cudaSuccess ||
      status == cudaStreamCaptureStatusNone) {
    return;
  }
  cudaGraph_t broken = nullptr;
  (void)cudaStreamEndCapture(stream.stream(), &broken);
  if (broken) (void)cudaGraphDestroy(broken);
  (void)cudaGetLastError();  // clear the error the interrupted capture left
}

}  // namespace

GraphedStep::GraphedStep(TrainStep step, int64_t warmup_steps)
    : step_(std::move(step)), warmup_steps_(warmup_steps) {}

GraphedStep::~GraphedStep() = default;

torch::Tensor GraphedStep::run(const torch::Tensor& images, const torch::Tensor& labels,
                               double lr) {
  if (capture_failed_ || !images.is_cuda()) return step_(images, labels);
  const auto device = images.device().index();
  const auto current = c10::cuda::getCurrentCUDAStream(device);
  if (calls_++ < warmup_steps_) {
    auto side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device);
    wait_for(side, current);
    torch::Tensor loss;
    {
      c10::cuda::CUDAStreamGuard on_side(side);
      loss = step_(images, labels);
    }
    wait_for(current, side);
    return loss;
  }
  if (graph_ && (!images.sizes().equals(graph_->images.sizes()) ||
                 !labels.sizes().equals(graph_->labels.sizes()))) {
    return step_(images, labels);  // a smaller last batch
  }
  if ((!graph_ || graph_->lr != lr) && !capture(images, labels, lr)) return step_(images, labels);
  graph_->images.copy_(images, /*non_blocking=*/true);
  graph_->labels.copy_(labels, /*non_blocking=*/true);
  graph_->graph.replay();
  ++replays_;
  return graph_->loss.clone();  // the static loss is overwritten by the next replay
}

bool GraphedStep::capture(const torch::Tensor& images, const torch::Tensor& labels, double lr) {
  graph_.reset();  // a previous capture (another learning rate) and its memory go first
  const auto device = images.device().index();
  const auto current = c10::cuda::getCurrentCUDAStream(device);
  auto side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device);
  auto graph = std::make_unique<Graph>();
  graph->images = images.clone();  // keeps the memory format (channels-last)
  graph->labels = labels.clone();
  graph->lr = lr;
  wait_for(side, current);
  try {
    c10::cuda::CUDAStreamGuard on_side(side);
    compat::begin_thread_local_capture(graph->graph);
    graph->loss = step_(graph->images, graph->labels);
    graph->graph.capture_end();
  } catch (const std::exception& e) {
    abandon_capture(side);
    capture_failed_ = true;
    out() << "--cuda-graph: capture failed (" << first_line(e.what()) << "); training eagerly"
          << std::endl;
    return false;
  }
  wait_for(current, side);
  graph_ = std::move(graph);
  ++captures_;
  return true;
}

#else  // no CUDA: cuda_graph_unavailable_reason always says why, this never captures

struct GraphedStep::Graph {};

GraphedStep::GraphedStep(TrainStep step, int64_t warmup_steps)
    : step_(std::move(step)), warmup_steps_(warmup_steps) {}

GraphedStep::~GraphedStep() = default;

torch::Tensor GraphedStep::run(const torch::Tensor& images, const torch::Tensor& labels,
                               double /*lr*/) {
  ++calls_;
  return step_(images, labels);
}

bool GraphedStep::capture(const torch::Tensor&, const torch::Tensor&, double) { return false; }

#endif

}  // namespace tutorial
