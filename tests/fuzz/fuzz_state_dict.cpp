// State dict files (model.pth) and checkpoints, through the readers the
// stages use: load_trained_model and Checkpoints::resume. The model is one
// small linear layer, so that whole valid files fit the fuzzer's input size.
#include "fuzz_input.h"
#include "train/checkpoints.h"
#include "train/optimizer.h"
#include "train/state_dict.h"

#include <torch/nn/modules/linear.h>

namespace {

struct TinyModel : torch::nn::Module {
  TinyModel() { fc = register_module("fc", torch::nn::Linear(4, 2)); }
  torch::nn::Linear fc{nullptr};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tutorial;
  static auto model = std::make_shared<TinyModel>();
  static auto sgd = make_sgd(model->parameters(), TrainConfig{});
  const auto path = fuzz::write_input("model.pth", data, size);
  fuzz::expect_success_or_user_error([&] { load_trained_model(model, path); });
  return fuzz::expect_success_or_user_error([&] {
    Checkpoints checkpoints(fuzz::scratch_folder().string(), 1, "", 1, 64);
    checkpoints.resume(path, *model, sgd);
  });
}
