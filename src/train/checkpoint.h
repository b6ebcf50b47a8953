// Saving what a run trained: model parameters and buffers, optimizer state.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <string>

namespace tutorial {

// Writes `output_dir`/model.pth and optimizer.pth (LibTorch's archive format),
// each through a temporary file and a rename, so a crash never leaves a
// half-written file under the final name. Creates output_dir. Returns the model path.
std::string save_trained_model(const std::shared_ptr<torch::nn::Module>& model,
                               const torch::optim::Optimizer& optimizer,
                               const std::string& output_dir);

// Loads model.pth written by save_trained_model into a model of the same architecture.
void load_trained_model(const std::shared_ptr<torch::nn::Module>& model, const std::string& path);

}  // namespace tutorial
