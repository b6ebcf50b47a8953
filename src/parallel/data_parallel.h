// Stage 2's DataParallel: each batch is split over several devices of one
// process, the model is replicated onto each, the outputs gathered on the
// first, and the gradients summed back into the original parameters.
#pragma once

#include "models/model_factory.h"
#include "train/config.h"
#include "train/engine.h"

#include <string>
#include <vector>

namespace tutorial {

// The GPUs to use: --devices (a GPU may be named twice: two replicas on it),
// else every visible one. Empty with --device cpu and on a machine (or a
// LibTorch build) without CUDA. Throws UserError for a GPU that isn't there,
// and for --devices with --device cpu.
std::vector<torch::Device> data_parallel_devices(const TrainConfig& config);

// One forward pass of `model` split over `devices` as Python's nn.DataParallel
// does it, with LibTorch's torch::nn::parallel: the batch is scattered along
// dimension 0 (a batch smaller than the device count fills fewer devices), the
// model replicated, the replicas applied, their outputs gathered on
// devices[0]. In training mode the model's buffers (BatchNorm's running
// statistics) then hold what the first replica computed, as in Python.
// The devices are GPUs, or all CPU (replicas on the CPU: how the tests run
// it without GPUs). Needs a CUDA build of LibTorch (data_parallel_available());
// with fewer than two devices it is the model's own forward.
torch::Tensor data_parallel(const Classifier& model, const torch::Tensor& input,
                            const std::vector<torch::Device>& devices);

// What stage 2 prints before training: "Let's use 2 GPUs!" (the tutorial's
// line), or why it trains on `device` alone.
std::string describe_data_parallel(const std::vector<torch::Device>& gpus, torch::Device device);

// data_parallel as a forward function for the Trainer.
ForwardFn data_parallel_forward(const Classifier& model, const std::vector<torch::Device>& devices);

// True where this build has LibTorch's DataParallel: its header needs CUDA's,
// which only a CUDA build of LibTorch ships.
bool data_parallel_available();

}  // namespace tutorial
