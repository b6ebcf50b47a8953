// The tutorial's model, NeuralNetwork: Flatten, then Linear-ReLU-Linear-ReLU-Linear.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

namespace tutorial {

// Submodule names match the Python class (flatten, linear_relu_stack), so
// parameters are named linear_relu_stack.0.weight, ... as in its state dict.
class NeuralNetworkImpl : public torch::nn::Cloneable<NeuralNetworkImpl> {
 public:
  NeuralNetworkImpl(int64_t input_features, int64_t num_classes, int64_t hidden_features = 512);
  void reset() override;  // (re)creates the layers; Cloneable needs it
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t input_features_, num_classes_, hidden_features_;
  torch::nn::Flatten flatten_{nullptr};
  torch::nn::Sequential linear_relu_stack_{nullptr};
};
TORCH_MODULE(NeuralNetwork);

}  // namespace tutorial
