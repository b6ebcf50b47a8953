// Models leave C++ and come back: model.pth loads into the equivalent Python
// module (the tutorial's NeuralNetwork, the CIFAR ResNet-20) with
// torch.load + load_state_dict, and a state dict Python saved loads into the
// C++ model; both compute the same outputs. Checked against the python3 with
// torch found at configure time (tests/train/interop_peer.py); skipped without one.
#include "core/errors.h"
#include "models/model_factory.h"
#include "python_peer.h"
#include "test_files.h"
#include "train/checkpoints.h"
#include "train/state_dict.h"
#include "train/optimizer.h"
#include "user_error_assertions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

using namespace tutorial;
using tutorial::testdata::TempDir;
using tutorial::testdata::throws_user_error;

namespace {

struct PeerResult {
  int status = -1;
  std::vector<double> outputs;  // the Python module's outputs on the fixed input
  std::string text;
};

// Runs interop_peer.py COMMAND MODEL PATH, its stderr folded into the text.
PeerResult run_peer(const std::string& command, const std::string& model, const std::string& path) {
  const std::string line = std::string("'") + kTorchPython + "' '" + kInteropPeerPath + "' " +
                           command + " " + model + " '" + path + "' 2>&1";
  PeerResult result;
  FILE* pipe = ::popen(line.c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) result.text.append(buffer, n);
  result.status = ::pclose(pipe);
  // The last line is a JSON list of numbers: [a, b, ...]
  const auto open = result.text.rfind('['), close = result.text.rfind(']');
  if (result.status == 0 && open != std::string::npos && close > open) {
    std::stringstream numbers(result.text.substr(open + 1, close - open - 1));
    std::string item;
    while (std::getline(numbers, item, ',')) result.outputs.push_back(std::stod(item));
  }
  return result;
}

ImageShape shape_of(const std::string& model) {
  return model == "mlp" ? ImageShape{1, 28, 28} : ImageShape{3, 32, 32};
}

// The C++ model's eval-mode outputs on the peer's fixed input.
std::vector<double> outputs_of(Classifier& model, const std::string& name) {
  const auto s = shape_of(name);
  torch::NoGradGuard no_grad;
  model->eval();
  auto input = torch::linspace(-1, 1, 2 * s.channels * s.height * s.width)
                   .view({2, s.channels, s.height, s.width});
  auto out = model.forward(input).flatten().to(torch::kDouble).contiguous();
  return std::vector<double>(out.data_ptr<double>(), out.data_ptr<double>() + out.numel());
}

// Within 1e-5, relative to outputs larger than 1: the peer's torch may be
// another version whose kernels round differently (LibTorch 2.11 against
// Python's 1.13 on an AVX2-only CPU: 1.1e-5 on a ResNet-20 logit of 18.6).
void expect_close(const std::vector<double>& cpp, const std::vector<double>& python) {
  ASSERT_EQ(cpp.size(), python.size());
  for (size_t i = 0; i < cpp.size(); ++i) {
    EXPECT_NEAR(cpp[i], python[i], 1e-5 * std::max(1.0, std::abs(python[i]))) << "output " << i;
  }
}

class Interop : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (std::string(kTorchPython).empty()) GTEST_SKIP() << "no python3 with torch";
  }
};

}  // namespace

TEST_P(Interop, PythonLoadsTheSavedModelIntoItsOwnModule) {
  TempDir dir;
  torch::manual_seed(3);
  auto model = make_model(GetParam(), shape_of(GetParam()), 10);
  if (GetParam() != "mlp") model.forward(torch::rand({8, 3, 32, 32}));  // BatchNorm statistics
  auto sgd = make_sgd(model->parameters(), TrainConfig{});
  const auto path = save_trained_model(model.module(), sgd, dir / "out");
  const auto python = run_peer("load", GetParam(), path);
  ASSERT_EQ(python.status, 0) << python.text;
  expect_close(outputs_of(model, GetParam()), python.outputs);
}

TEST_P(Interop, AStateDictSavedByPythonLoadsIntoTheCppModel) {
  TempDir dir;
  const auto path = dir / "from_python.pth";
  const auto python = run_peer("save", GetParam(), path);
  ASSERT_EQ(python.status, 0) << python.text;
  torch::manual_seed(4);  // a different initialisation, all of it overwritten
  auto model = make_model(GetParam(), shape_of(GetParam()), 10);
  load_trained_model(model.module(), path);
  expect_close(outputs_of(model, GetParam()), python.outputs);
}

TEST_P(Interop, PythonLoadsTheModelOfACheckpoint) {
  TempDir dir;
  torch::manual_seed(5);
  auto model = make_model(GetParam(), shape_of(GetParam()), 10);
  auto sgd = make_sgd(model->parameters(), TrainConfig{});
  Checkpoints checkpoints(dir / "out", 1, resume_fingerprint(TrainConfig{}), 1, 64);
  const auto path = checkpoints.save(*model.module(), sgd, TrainingPosition{0, 3, 3});
  const auto python = run_peer("checkpoint", GetParam(), path);
  ASSERT_EQ(python.status, 0) << python.text;
  expect_close(outputs_of(model, GetParam()), python.outputs);
}

INSTANTIATE_TEST_SUITE_P(Models, Interop, testing::Values("mlp", "resnet20"));

TEST(InteropErrors, PythonsOrderedDictAnotherModelAndOtherFilesAreNamed) {
  if (std::string(kTorchPython).empty()) GTEST_SKIP() << "no python3 with torch";
  TempDir dir;
  auto mlp = make_model("mlp", {1, 28, 28}, 10);
  const auto ordered = dir / "ordered.pth";
  const auto python = run_peer("save-ordered", "mlp", ordered);
  ASSERT_EQ(python.status, 0) << python.text;
  try {
    load_trained_model(mlp.module(), ordered);
    expect_close(outputs_of(mlp, "mlp"), python.outputs);  // a LibTorch that reads OrderedDict
  } catch (const UserError& e) {  // 1.13 reads it as None
    EXPECT_NE(std::string(e.what()).find("torch.save(dict(model.state_dict()), path)"),
              std::string::npos)
        << e.what();
  }
  const auto resnet = dir / "resnet.pth";
  ASSERT_EQ(run_peer("save", "resnet20", resnet).status, 0);
  EXPECT_TRUE(throws_user_error([&] { load_trained_model(mlp.module(), resnet); },
                                {resnet, "lacks linear_relu_stack.0.weight"}));
  tutorial::testdata::write_bytes(dir.path() / "text.pth", {'n', 'o', 't'});
  EXPECT_THROW(load_trained_model(mlp.module(), dir / "text.pth"), UserError);
}
