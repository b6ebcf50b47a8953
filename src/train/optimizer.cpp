#include "train/optimizer.h"

namespace tutorial {

torch::optim::SGD make_sgd(const std::vector<torch::Tensor>& parameters, const TrainConfig& config) {
  return torch::optim::SGD(parameters, torch::optim::SGDOptions(config.lr)
                                           .momentum(config.momentum)
                                           .nesterov(config.nesterov)
                                           .weight_decay(config.weight_decay));
}

}  // namespace tutorial
