#include "distributed_train/ddp_options.h"

#include <torch/cuda.h>

namespace tutorial {

DdpOptions ddp_options(const TrainConfig& config) {
  return DdpOptions()
      .bucket_cap_mb(config.bucket_cap_mb)
      .first_bucket_cap_mb(config.first_bucket_cap_mb);
}

std::unique_ptr<Timeline> rank_timeline(const TrainConfig& config, const LaunchEnv& env,
                                        torch::Device device) {
  if (config.trace.empty()) return nullptr;
  auto timeline =
      std::make_unique<Timeline>(rank_trace_path(config.trace, env.rank), env.rank,
                                 env.world_size, parse_step_window("trace-steps", config.trace_steps));
  timeline->describe("device", "\"" + device.str() + "\"");
  if (device.is_cuda()) {
    timeline->synchronize_spans_with([] { torch::cuda::synchronize(); });
    timeline->describe("timing",
                       "\"host clock; inside the window the device is synchronized at the start "
                       "and end of every span and of the end-of-backward wait; a bucket is ready "
                       "when autograd queued its last gradient, complete when its CUDA events "
                       "say so (polled every 20 us)\"");
  } else {
    timeline->describe("timing",
                       "\"host clock; a bucket is ready when its last gradient was accumulated, "
                       "complete when Gloo completed its future\"");
  }
  return timeline;
}

}  // namespace tutorial
