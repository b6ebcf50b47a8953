#include "models/mlp.h"

#include <torch/nn/modules/activation.h>

namespace tutorial {

NeuralNetworkImpl::NeuralNetworkImpl(int64_t input_features, int64_t num_classes,
                                     int64_t hidden_features)
    : input_features_(input_features), num_classes_(num_classes), hidden_features_(hidden_features) {
  reset();
}

void NeuralNetworkImpl::reset() {
  namespace nn = torch::nn;
  flatten_ = register_module("flatten", nn::Flatten());
  linear_relu_stack_ = register_module(
      "linear_relu_stack",
      nn::Sequential(nn::Linear(input_features_, hidden_features_), nn::ReLU(),
                     nn::Linear(hidden_features_, hidden_features_), nn::ReLU(),
                     nn::Linear(hidden_features_, num_classes_)));
}

torch::Tensor NeuralNetworkImpl::forward(const torch::Tensor& x) {
  return linear_relu_stack_->forward(flatten_->forward(x));
}

}  // namespace tutorial
