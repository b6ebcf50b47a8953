// Stage 2's DataParallel: each batch is split over several GPUs of one
// process, the model is replicated onto each, the outputs gathered on the
// first, and the gradients summed back into the original parameters.
#pragma once

#include "models/model_factory.h"
#include "train/config.h"
#include "train/engine.h"

#include <string>
#include <vector>

namespace tutorial {

// The GPUs to use: --devices, else every visible one. Empty with --device cpu
// and on a machine (or a LibTorch build) without CUDA. Throws UserError for a GPU that isn't there.
std::vector<torch::Device> data_parallel_devices(const TrainConfig& config);

// A forward function running `model` with torch::nn::parallel::data_parallel
// over `devices` (outputs on devices[0]). With fewer than two devices it is
// the model's own forward.
ForwardFn data_parallel_forward(const Classifier& model, const std::vector<torch::Device>& devices);

// True where this build can run DataParallel over several GPUs.
bool data_parallel_supported();

}  // namespace tutorial
