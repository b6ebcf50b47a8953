// State dict files (model.pth) and checkpoints, through the readers the
// stages use: load_trained_model and Checkpoints::resume.
#include "fuzz_input.h"
#include "models/model_factory.h"
#include "train/checkpoints.h"
#include "train/optimizer.h"
#include "train/state_dict.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tutorial;
  static auto model = make_model("mlp", {1, 4, 4}, 3);
  static auto sgd = make_sgd(model->parameters(), TrainConfig{});
  const auto path = fuzz::write_input("model.pth", data, size);
  fuzz::expect_success_or_user_error([&] { load_trained_model(model.module(), path); });
  return fuzz::expect_success_or_user_error([&] {
    Checkpoints checkpoints(fuzz::scratch_folder().string(), 1, "");
    checkpoints.resume(path, *model.module(), sgd);
  });
}
