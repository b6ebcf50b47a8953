// What the DDP stages build from their command line for the wrapper and its
// timeline: --bucket-cap-mb, --first-bucket-cap-mb, --trace, --trace-steps.
#pragma once

#include "distributed/distributed_data_parallel.h"
#include "distributed/launch_env.h"
#include "timeline/timeline.h"
#include "train/config.h"

#include <torch/types.h>

#include <memory>

namespace tutorial {

// The wrapper's options: the bucket caps.
DdpOptions ddp_options(const TrainConfig& config);

// --trace FILE: this rank's timeline of --trace-steps, written to
// FILE.rankR.json when the window closes; null without --trace. On a GPU its
// spans synchronize the device at their ends (inside the window only), so
// that they cover the kernels, not only their launch.
std::unique_ptr<Timeline> rank_timeline(const TrainConfig& config, const LaunchEnv& env,
                                        torch::Device device);

}  // namespace tutorial
