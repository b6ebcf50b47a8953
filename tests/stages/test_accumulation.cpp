// --accumulate-steps and --amp-dtype end to end: a stage accumulating
// micro-batches ends where the same job without accumulation ends (within
// float rounding), on one process and on two spawned workers; a run with
// accumulation stopped and resumed from its checkpoint ends bit for bit as
// the uninterrupted one; fp16 on a CPU is one line.
#include "stage_paths.h"
#include "stage_runner.h"
#include "test_files.h"
#include "train/state_dict.h"
#include "train/torch_save.h"

#include <gtest/gtest.h>

#include <filesystem>

using namespace tutorial::testdata;
namespace fs = std::filesystem;

namespace {

// The largest difference between the parameters of two saved models.
double max_difference(const fs::path& a, const fs::path& b) {
  auto first = tutorial::tensors_of(tutorial::read_torch_file(a.string(), "unreadable"), a.string());
  auto second = tutorial::tensors_of(tutorial::read_torch_file(b.string(), "unreadable"), b.string());
  EXPECT_EQ(first.size(), second.size());
  double most = 0;
  for (const auto& [name, tensor] : first) {
    if (!second.count(name)) {
      ADD_FAILURE() << name << " is missing from " << b;
      continue;
    }
    most = std::max(most, (tensor - second.at(name)).abs().max().item<double>());
  }
  return most;
}

// 512 samples in global batches of 64, 2 epochs: 16 steps.
std::string job(const TempDir& dir, const std::string& output) {
  return " --device cpu --epochs 2 --data-dir '" + dir / "data" + "' --output-dir '" +
         dir / output + "'";
}

class Accumulation : public testing::Test {
 protected:
  void SetUp() override { write_idx_dataset(dir.path() / "data", 512, 64); }
  fs::path model(const std::string& output) const { return dir.path() / output / "model.pth"; }
  TempDir dir;
};

}  // namespace

TEST_F(Accumulation, Stage1WithFourMicroBatchesEndsWhereStage1WithoutThemEnds) {
  ASSERT_EQ(run(kStage1Path, job(dir, "plain"), dir).exit_code, 0);
  const auto r = run(kStage1Path, "--accumulate-steps 4" + job(dir, "accumulated"), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| batch size   | 64 (4 micro-batches of 16, gradients summed)"),
            std::string::npos)
      << r.out;
  EXPECT_LT(max_difference(model("plain"), model("accumulated")), 1e-5);
}

TEST_F(Accumulation, TwoWorkersAccumulatingEndWhereOneProcessWithoutAccumulationEnds) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  ASSERT_EQ(run(kStage1Path, job(dir, "plain"), dir).exit_code, 0);
  // 32 samples a rank a step, in 2 micro-batches of 16.
  const auto r = run(kStage4Path, "--nproc-per-node 2 --accumulate-steps 2" + job(dir, "ddp"), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(max_difference(model("plain"), model("ddp")), 1e-5);
}

TEST_F(Accumulation, AStoppedRunResumesToTheUninterruptedRunsParametersBitForBit) {
  const std::string more = "--accumulate-steps 2 --checkpoint-every 4";
  ASSERT_EQ(run(kStage1Path, more + job(dir, "whole"), dir).exit_code, 0);
  // Stopped mid-epoch 2 (step 12 of 16, 8 a epoch), resumed from its checkpoint.
  ASSERT_EQ(run(kStage1Path, more + " --max-steps 12" + job(dir, "resumed"), dir).exit_code, 0);
  const auto r = run(kStage1Path, more + " --resume auto" + job(dir, "resumed"), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("step 12"), std::string::npos) << r.out;
  EXPECT_EQ(read_text(model("whole")), read_text(model("resumed")));
}

TEST(AmpDtype, Fp16OnACpuIsOneLineAndExitStatus2) {
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 64, 64);
  const auto r = run(kStage1Path,
                     "--device cpu --amp-dtype fp16 --data-dir " + dir / "data" +
                         " --output-dir " + dir / "out",
                     dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "stage1_single_device: error: --amp-dtype fp16 needs a CUDA device, and this run is "
            "on the cpu (on a CPU, autocast is bf16: --amp)\n");
}
