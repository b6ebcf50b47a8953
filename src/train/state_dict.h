// A model's state dict (parameters and buffers by name) in PyTorch's own file
// format, and saving what a run trained.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <map>
#include <string>

namespace tutorial {

// Writes `output_dir`/model.pth and optimizer.pth, each atomically
// (core/atomic_file.h). Creates output_dir. Returns the model path.
//
// model.pth is the model's state dict as Python's
// torch.save(model.state_dict(), "model.pth") writes it, so Python loads it
// into the same module with
//     model.load_state_dict(torch.load("model.pth"))  # weights_only=True too
// (the MLP's names are the tutorial's: linear_relu_stack.0.weight, ...).
// optimizer.pth is LibTorch's archive of the optimizer (C++ only).
std::string save_trained_model(const std::shared_ptr<torch::nn::Module>& model,
                               const torch::optim::Optimizer& optimizer,
                               const std::string& output_dir);

// Loads a state dict file into a model of the same architecture: model.pth
// from save_trained_model, or a file Python wrote with
//     torch.save(dict(model.state_dict()), path)
void load_trained_model(const std::shared_ptr<torch::nn::Module>& model, const std::string& path);

// The model's parameters and buffers by name, on the CPU.
c10::Dict<std::string, at::Tensor> state_dict_of(const torch::nn::Module& model);

// The name -> tensor entries of a dict read from `source` (for messages).
std::map<std::string, torch::Tensor> tensors_of(const c10::IValue& dict, const std::string& source);

// Copies `state` into the model's parameters and buffers, in place. Like
// Python's load_state_dict(strict=True), every one must be there with its
// shape and no other name; otherwise a UserError names them.
void load_state_dict(torch::nn::Module& model, std::map<std::string, torch::Tensor> state,
                     const std::string& source);

}  // namespace tutorial
