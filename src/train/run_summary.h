// The configuration table printed at the start of every run.
#pragma once

#include "core/console.h"
#include "train/config.h"
#include "train/training_data.h"

#include <torch/nn/module.h>

namespace tutorial {

// Rows shared by all stages; a stage appends its own (devices, world size).
ConfigRows describe_run(const TrainConfig& config, const TrainingData& data,
                        const torch::nn::Module& model, const std::string& device);

}  // namespace tutorial
