// Saving what a run trained: the model's state dict, in PyTorch's own file
// format, and the optimizer's state.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <string>

namespace tutorial {

// Writes `output_dir`/model.pth and optimizer.pth, each through a temporary
// file, fsync and a rename, so a crash never leaves a half-written file under
// the final name. Creates output_dir. Returns the model path.
//
// model.pth is the model's state dict (parameters and buffers by name, on the
// CPU) as Python's torch.save(model.state_dict(), "model.pth") writes it, so
// Python loads it into the same module with
//     model.load_state_dict(torch.load("model.pth"))
// (the MLP's names are the tutorial's: linear_relu_stack.0.weight, ...).
// optimizer.pth is LibTorch's archive of the optimizer (C++ only).
std::string save_trained_model(const std::shared_ptr<torch::nn::Module>& model,
                               const torch::optim::Optimizer& optimizer,
                               const std::string& output_dir);

// Writes `model`'s state dict to `path` as save_trained_model writes model.pth.
void save_state_dict(const torch::nn::Module& model, const std::string& path);

// Loads a state dict file into a model of the same architecture: model.pth
// from save_trained_model, or a file Python wrote with
//     torch.save(dict(model.state_dict()), path)
// Like Python's load_state_dict(strict=True), every parameter and buffer must
// be there with its shape and no other name; otherwise a UserError names them.
void load_trained_model(const std::shared_ptr<torch::nn::Module>& model, const std::string& path);

}  // namespace tutorial
