// SGD as the configuration describes it (momentum, Nesterov, weight decay).
#pragma once

#include "train/config.h"

#include <torch/optim/sgd.h>

namespace tutorial {

torch::optim::SGD make_sgd(const std::vector<torch::Tensor>& parameters, const TrainConfig& config);

}  // namespace tutorial
