// Builds a model by name for a dataset's image shape and class count.
#pragma once

#include "models/mlp.h"
#include "models/resnet_cifar.h"

#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace tutorial {

struct ImageShape {
  int64_t channels, height, width;
};

// A model of any architecture the factory builds. It keeps the concrete
// module type (not just a Module pointer) because DataParallel's replication
// needs it; visit() hands it to generic code.
class Classifier {
 public:
  using Variant = std::variant<NeuralNetwork, ResNetCifar>;
  explicit Classifier(Variant model) : model_(std::move(model)) {}

  torch::Tensor forward(const torch::Tensor& x) const {
    return std::visit([&](const auto& m) { return m.ptr()->forward(x); }, model_);
  }
  std::shared_ptr<torch::nn::Module> module() const {
    return std::visit([](const auto& m) -> std::shared_ptr<torch::nn::Module> { return m.ptr(); },
                      model_);
  }
  torch::nn::Module* operator->() const { return module().get(); }

  template <typename Visitor>
  decltype(auto) visit(Visitor&& visitor) const {
    return std::visit(std::forward<Visitor>(visitor), model_);
  }

 private:
  Variant model_;
};

// "mlp" (the tutorial's) or "resnet20", "resnet32", "resnet44", "resnet56", "resnet110".
Classifier make_model(const std::string& name, ImageShape input, int64_t num_classes);

// The names make_model accepts.
const std::vector<std::string>& model_names();

// Throws UserError "unknown model 'x' (valid: mlp, resnet20, ...)" for any other name.
void check_model_name(const std::string& name);

int64_t count_parameters(const torch::nn::Module& model);
int64_t count_batch_norm_layers(const torch::nn::Module& model);

}  // namespace tutorial
