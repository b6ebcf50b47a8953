#include "models/model_factory.h"

#include "core/errors.h"

#include <algorithm>

namespace tutorial {

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = {"mlp",      "resnet20", "resnet32",
                                                 "resnet44", "resnet56", "resnet110"};
  return names;
}

void check_model_name(const std::string& name) {
  const auto& names = model_names();
  if (std::find(names.begin(), names.end(), name) != names.end()) return;
  std::string valid;
  for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
  throw UserError("unknown model '" + name + "' (valid: " + valid + ")");
}

Classifier make_model(const std::string& name, ImageShape input, int64_t num_classes) {
  check_model_name(name);
  if (name == "mlp") {
    return Classifier(NeuralNetwork(input.channels * input.height * input.width, num_classes));
  }
  const int64_t depth = std::stoll(name.substr(std::string("resnet").size()));
  return Classifier(ResNetCifar(depth, input.channels, num_classes));
}

int64_t count_parameters(const torch::nn::Module& model) {
  int64_t total = 0;
  for (const auto& p : model.parameters()) total += p.numel();
  return total;
}

int64_t count_batch_norm_layers(const torch::nn::Module& model) {
  int64_t layers = 0;
  for (const auto& module : model.modules()) {
    if (module->as<torch::nn::BatchNorm2d>() != nullptr) ++layers;
  }
  return layers;
}

}  // namespace tutorial
