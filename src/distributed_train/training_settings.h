// What a training run's ranks must agree on, and the process group options
// that make them check it.
#pragma once

#include "distributed/process_group.h"
#include "train/config.h"

namespace tutorial {

// The options that must be equal on every rank: the model, the data and its
// augmentation, the optimizer and its schedule, the seed, the length of the
// run, the fast-path switches, checkpointing and the backend. Not those that
// may differ per rank or machine: --device, --data-dir, --output-dir,
// --threads, --prefetch, --log-interval, --no-progress.
Settings training_settings(const TrainConfig& config);

// --backend and --dist-timeout, with training_settings to agree on.
ProcessGroupOptions process_group_options(const TrainConfig& config);

}  // namespace tutorial
