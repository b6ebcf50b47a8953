// Checkpoints and resuming, end to end: a run SIGKILLed at a random step and
// resumed with --resume auto ends with the very parameters (model.pth, byte
// for byte) and metrics.jsonl results (test results, mean training loss) of
// a run never interrupted, for stage 1 and for stage 3 with two ranks; SIGTERM
// stops every rank at a step boundary with a checkpoint and exit status 3; the
// launcher's --max-restarts restarts a killed job; a damaged checkpoint is
// reported and the one before it used; a checkpoint of other settings is
// refused. A checkpoint of 2 ranks resumes on 1 and one of 1 on 2 (the same
// samples in the same global batches: the parameters within rounding of the
// uninterrupted run's), and a world size the global batch does not divide is
// refused in one line.
#include "distributed/network.h"
#include "stage_paths.h"
#include "stage_runner.h"
#include "test_files.h"
#include "train/state_dict.h"
#include "train/torch_save.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

using namespace tutorial::testdata;
namespace fs = std::filesystem;

namespace {

// 8192 samples in batches of 64, 3 epochs: 384 steps, a checkpoint every 16.
std::string job(const TempDir& dir, const std::string& output) {
  return " --device cpu --data-dir '" + dir / "data" +
         "' --epochs 3 --checkpoint-every 16 --output-dir '" + dir / output + "'";
}

std::string stage1(const TempDir& dir, const std::string& output) {
  return std::string("'") + kStage1Path + "'" + job(dir, output);
}

std::string stage3(const TempDir& dir, const std::string& output, const std::string& more = "") {
  return std::string(kClearLauncherVariables) + "'" + kLaunchLocalPath + "' --nproc-per-node 2 " +
         more + " --master-port " + std::to_string(tutorial::find_free_port()) + " '" +
         kStage3Path + "' --dist-timeout 60" + job(dir, output);
}

// A step from the first half of the run, a multiple of 16 (a checkpoint's).
int64_t random_step() {
  std::random_device device;
  return 16 * std::uniform_int_distribution<int64_t>(1, 12)(device);
}

// The path of the checkpoint of `step` in `output`.
std::string checkpoint_of(const TempDir& dir, const std::string& output, int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step-%09lld.pt", static_cast<long long>(step));
  return dir / output + "/checkpoints/" + name;
}

// Runs `command` (keeping every checkpoint) in the background until
// `checkpoint` appears, then `interrupt` (a shell command; $pid is the
// command's process), and returns the command's exit status.
RunResult interrupt_when_saved(const std::string& command, const std::string& checkpoint,
                               const std::string& interrupt, const TempDir& dir) {
  // The command goes inside sh -c '...': its own single quotes become '\''.
  std::string quoted;
  for (char c : command) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return run_command("sh -c '" + quoted + " --keep-checkpoints 1000 & pid=$!; " +
                         "while [ ! -e \"" + checkpoint + "\" ] && kill -0 $pid 2>/dev/null; do " +
                         "sleep 0.01; done; " + interrupt + "; wait $pid'",
                     dir);
}

// SIGKILLs every process whose command line names the output folder (the
// stage, its launcher, its ranks) once the checkpoint of `step` is there.
RunResult kill_at_step(const std::string& command, const TempDir& dir, const std::string& output,
                       int64_t step) {
  return interrupt_when_saved(command, checkpoint_of(dir, output, step),
                              "pkill -9 -f \"[s]tage._.*" + (dir / output) + "\"", dir);
}

void expect_same_model(const TempDir& dir, const std::string& a, const std::string& b) {
  ASSERT_TRUE(fs::exists(dir.path() / a / "model.pth"));
  ASSERT_TRUE(fs::exists(dir.path() / b / "model.pth"));
  EXPECT_TRUE(read_text(dir.path() / a / "model.pth") == read_text(dir.path() / b / "model.pth"))
      << a << "/model.pth and " << b << "/model.pth differ";
}

class Resume : public testing::Test {
 protected:
  void SetUp() override { write_idx_dataset(dir.path() / "data", 8192, 256); }
  TempDir dir;
};

// "test_loss": ..., "test_accuracy": ... of each line of `output`/metrics.jsonl.
std::vector<std::string> test_metrics(const TempDir& dir, const std::string& output) {
  std::vector<std::string> fields;
  std::istringstream lines(read_text(dir.path() / output / "metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const auto begin = line.find("\"test_loss\""), end = line.find(", \"epoch_seconds\"");
    fields.push_back(begin == std::string::npos || end == std::string::npos
                         ? "no test metrics in: " + line
                         : line.substr(begin, end - begin));
  }
  return fields;
}

// "train_loss" of each line of `output`/metrics.jsonl (NaN where there is none).
std::vector<double> train_losses(const TempDir& dir, const std::string& output) {
  std::vector<double> losses;
  std::istringstream lines(read_text(dir.path() / output / "metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find("\"train_loss\": ");
    losses.push_back(at == std::string::npos ? std::nan("")
                                             : std::stod(line.substr(at + 14)));
  }
  return losses;
}

// The resumed run's metrics.jsonl has one line per epoch, as the whole run's,
// with the same test results (each epoch ends with the same parameters) and
// the same mean training loss (the resumed epoch's covers its batches before
// the kill too; the sums differ in rounding only, printed with 6 decimals).
void expect_same_epoch_metrics(const TempDir& dir, const std::string& a, const std::string& b) {
  const auto whole = test_metrics(dir, a);
  EXPECT_EQ(whole.size(), 3u);
  EXPECT_EQ(test_metrics(dir, b), whole);
  const auto whole_losses = train_losses(dir, a), resumed_losses = train_losses(dir, b);
  ASSERT_EQ(resumed_losses.size(), whole_losses.size());
  for (size_t i = 0; i < whole_losses.size(); ++i) {
    EXPECT_NEAR(resumed_losses[i], whole_losses[i], 2e-6) << "epoch " << i + 1;
  }
}

}  // namespace

TEST_F(Resume, Stage1KilledAtARandomStepEndsWithTheUninterruptedParameters) {
  ASSERT_EQ(run_command(stage1(dir, "whole"), dir).exit_code, 0);
  const int64_t step = random_step();
  const auto killed = kill_at_step(stage1(dir, "resumed"), dir, "resumed", step);
  ASSERT_EQ(killed.exit_code, 137) << "killed at step " << step << "\n" << killed.err;
  const auto resumed = run_command(stage1(dir, "resumed") + " --resume auto", dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("Resuming from "), std::string::npos) << resumed.out;
  expect_same_model(dir, "whole", "resumed");
  expect_same_epoch_metrics(dir, "whole", "resumed");
}

TEST_F(Resume, Stage3TwoRanksKilledAtARandomStepEndWithTheUninterruptedParameters) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  ASSERT_EQ(run_command(stage3(dir, "whole"), dir).exit_code, 0);
  const int64_t step = random_step();
  const auto killed = kill_at_step(stage3(dir, "resumed"), dir, "resumed", step);
  ASSERT_NE(killed.exit_code, 0) << "killed at step " << step;
  const auto resumed = run_command(stage3(dir, "resumed") + " --resume auto", dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("Resuming from "), std::string::npos) << resumed.out;
  expect_same_model(dir, "whole", "resumed");
  expect_same_epoch_metrics(dir, "whole", "resumed");
}

TEST_F(Resume, SigtermStopsEveryRankAtAStepBoundaryWithACheckpointAndStatus3) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  ASSERT_EQ(run_command(stage3(dir, "whole"), dir).exit_code, 0);
  // SIGTERM to the launcher, which passes it on, once the run is under way.
  const auto stopped = interrupt_when_saved(stage3(dir, "stopped"),
                                            checkpoint_of(dir, "stopped", 48), "kill -TERM $pid", dir);
  EXPECT_EQ(stopped.exit_code, 3) << stopped.out << stopped.err;
  EXPECT_NE(stopped.out.find("Stopped by Terminated at step "), std::string::npos) << stopped.out;
  EXPECT_NE(stopped.out.find("Run again with --resume auto to continue."), std::string::npos);
  const auto resumed = run_command(stage3(dir, "stopped") + " --resume auto", dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  expect_same_model(dir, "whole", "stopped");
}

TEST_F(Resume, TheLaunchersMaxRestartsRestartsAKilledJobThatEndsAsAnUndisturbedOne) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  ASSERT_EQ(run_command(stage3(dir, "whole"), dir).exit_code, 0);
  // Rank 1 kills itself once, when the checkpoint of step 80 is there.
  {
    std::ofstream script(dir.path() / "rank.sh");
    script << "if [ \"$RANK\" = 1 ] && [ ! -e '" << dir / "killed-once" << "' ]; then\n"
           << "  (while [ ! -e '" << checkpoint_of(dir, "restarted", 80) << "' ]; do "
           << "sleep 0.01; done; touch '" << dir / "killed-once" << "'; kill -9 $$) &\n"
           << "fi\n"
           << "exec '" << kStage3Path << "' --dist-timeout 60" << job(dir, "restarted")
           << " --keep-checkpoints 1000 --resume auto\n";
  }
  const auto r = run_command(std::string(kClearLauncherVariables) + "'" + kLaunchLocalPath +
                                 "' --nproc-per-node 2 --max-restarts 1 --master-port " +
                                 std::to_string(tutorial::find_free_port()) + " -- /bin/sh '" +
                                 dir / "rank.sh" + "'",
                             dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir.path() / "killed-once"));
  EXPECT_NE(r.err.find("rank 1 exited with status 137"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("restarting the job (restart 1 of 1)"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("Resuming from "), std::string::npos);
  expect_same_model(dir, "whole", "restarted");
}

TEST_F(Resume, ADamagedNewestCheckpointIsReportedAndTheOneBeforeItUsed) {
  ASSERT_EQ(run_command(stage1(dir, "whole"), dir).exit_code, 0);
  ASSERT_EQ(run_command(stage1(dir, "damaged") + " --max-steps 100", dir).exit_code, 0);
  const fs::path newest = dir.path() / "damaged" / "checkpoints" / "step-000000100.pt";
  ASSERT_TRUE(fs::exists(newest));
  fs::resize_file(newest, fs::file_size(newest) / 2);
  const auto resumed = run_command(stage1(dir, "damaged") + " --resume auto", dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("step-000000100.pt is damaged"), std::string::npos) << resumed.err;
  EXPECT_NE(resumed.out.find("step-000000096.pt: epoch 1, batch 96, step 96"), std::string::npos)
      << resumed.out;
  expect_same_model(dir, "whole", "damaged");
}

// A checkpoint that cannot be written (here a file size limit, as a full disk)
// ends the run with one line and leaves no temporary file; --resume auto then
// continues from the last good checkpoint to the uninterrupted run's model.
TEST_F(Resume, AFailedCheckpointWriteLeavesNothingBehindAndTheRunResumesFromTheLastGoodOne) {
  const std::string data_args = "--data-dir " + (dir.path() / "data").string() + " --epochs 1";
  const std::string every = " --checkpoint-every 2 --output-dir ";
  ASSERT_EQ(run(kStage1Path, data_args + " --max-steps 2" + every + dir / "run", dir).exit_code, 0);
  // 1000 blocks of 1 KB: the MLP's 2.7 MB checkpoint at step 4 does not fit.
  const auto limited = run_command("ulimit -f 1000; exec '" + std::string(kStage1Path) + "' " +
                                       data_args + " --resume auto --max-steps 6" + every +
                                       dir / "run",
                                   dir);
  EXPECT_EQ(limited.exit_code, 2) << limited.err;
  EXPECT_EQ(count_lines(limited.err), 1) << limited.err;
  EXPECT_NE(limited.err.find("step-000000004.pt.tmp: cannot write (File too large)"),
            std::string::npos)
      << limited.err;
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir.path() / "run" / "checkpoints")) {
    left.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(left, std::vector<std::string>{"step-000000002.pt"});

  const auto resumed = run(kStage1Path, data_args + " --resume auto --max-steps 6" + every +
                                            dir / "run", dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  ASSERT_EQ(run(kStage1Path, data_args + " --max-steps 6" + every + dir / "whole", dir).exit_code, 0);
  expect_same_model(dir, "whole", "run");
}

TEST_F(Resume, ACheckpointOfOtherSettingsIsRefusedNamingTheSetting) {
  ASSERT_EQ(run_command(stage1(dir, "run") + " --max-steps 16", dir).exit_code, 0);
  const auto r = run_command(stage1(dir, "run") + " --batch-size 32 --resume auto", dir);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("was made with batch_size=64, this run has batch_size=32"),
            std::string::npos)
      << r.err;
  const auto missing = run_command(stage1(dir, "run") + " --resume /no/such.pt", dir);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("--resume: /no/such.pt: no such file"), std::string::npos);
}

TEST_F(Resume, Stage4sParentPassesSigtermOnAndExitsWith3WhenEveryWorkerSaved) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  const std::string stage4 = std::string("'") + kStage4Path + "' --nproc-per-node 2";
  ASSERT_EQ(run_command(stage4 + job(dir, "whole"), dir).exit_code, 0);
  const auto stopped = interrupt_when_saved(stage4 + job(dir, "stopped"),
                                            checkpoint_of(dir, "stopped", 48), "kill -TERM $pid", dir);
  EXPECT_EQ(stopped.exit_code, 3) << stopped.out << stopped.err;
  const auto resumed = run_command(stage4 + job(dir, "stopped") + " --resume auto", dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  expect_same_model(dir, "whole", "stopped");
}

namespace {

// 1000 samples (which 1, 2 and 4 ranks divide: no padding) in global batches
// of 64: 15 and a last one of 40, 16 steps an epoch; 2 epochs, a checkpoint
// every 4 steps. A few seconds a run. At --lr 0.1 the parameters of runs that
// differ in rounding alone differ by about 2e-8, those of a run that resumes
// 4 batches off by about 2e-3: 1e-5 tells them apart.
class ResumeOnAnotherWorldSize : public testing::Test {
 protected:
  void SetUp() override { write_idx_dataset(dir.path() / "data", 1000, 200); }

  std::string job(const std::string& output) const {
    return " --device cpu --data-dir '" + dir / "data" +
           "' --epochs 2 --batch-size 64 --lr 0.1 --checkpoint-every 4 --output-dir '" + dir / output +
           "'";
  }
  std::string stage1(const std::string& output) const {
    return std::string("'") + kStage1Path + "'" + job(output);
  }
  // Stage 3 on `ranks` ranks of scripts/launch_local.sh.
  std::string stage3(int ranks, const std::string& output) const {
    return std::string(kClearLauncherVariables) + "'" + kLaunchLocalPath + "' --nproc-per-node " +
           std::to_string(ranks) + " --master-port " + std::to_string(tutorial::find_free_port()) +
           " '" + kStage3Path + "' --dist-timeout 60" + job(output);
  }

  TempDir dir;
};

// A step of the run's 32, so that checkpoints of every kind come up: mid-epoch,
// at the first epoch's end (16), in the second epoch.
int64_t random_stop_step() {
  std::random_device device;
  return std::uniform_int_distribution<int64_t>(1, 31)(device);
}

// Every parameter of a/model.pth within `tolerance` of b/model.pth's (the
// sum over ranks adds in another order on another world size: not bitwise).
void expect_close_models(const TempDir& dir, const std::string& a, const std::string& b,
                         double tolerance) {
  const auto read = [&](const std::string& output) {
    const std::string path = (dir.path() / output / "model.pth").string();
    return tutorial::tensors_of(tutorial::read_torch_file(path, "unreadable"), path);
  };
  const auto expected = read(a), actual = read(b);
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [name, tensor] : expected) {
    ASSERT_EQ(actual.count(name), 1u) << name;
    ASSERT_EQ(actual.at(name).sizes(), tensor.sizes()) << name;
    const double difference = (actual.at(name) - tensor).abs().max().item<double>();
    EXPECT_LE(difference, tolerance) << name << " of " << b << " differs from " << a << "'s";
  }
}

}  // namespace

// Stage 3 on 2 ranks stopped at a step (--max-steps; its last checkpoint is
// of that step), resumed by stage 1, a single process.
TEST_F(ResumeOnAnotherWorldSize, TwoRanksStoppedAtARandomStepResumedOnOneEndWithinE5OfTheTwoRankRun) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  ASSERT_EQ(run_command(stage3(2, "whole"), dir).exit_code, 0);
  const int64_t step = random_stop_step();
  const auto stopped = run_command(stage3(2, "resumed") + " --max-steps " + std::to_string(step), dir);
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  const auto resumed = run_command(stage1("resumed") + " --resume auto", dir);
  ASSERT_EQ(resumed.exit_code, 0) << "stopped at step " << step << "\n" << resumed.err;
  EXPECT_NE(resumed.out.find(", step " + std::to_string(step) + "\nResuming a 2-rank checkpoint on "
                             "1 rank: the global batch of 64 stays, 64 per rank\n"),
            std::string::npos)
      << resumed.out;
  SCOPED_TRACE("stopped at step " + std::to_string(step));
  expect_close_models(dir, "whole", "resumed", 1e-5);
}

// Stage 3 on 1 rank stopped mid-epoch, resumed on 2: its last batch of 40
// and the second epoch as 2 ranks' shares.
TEST_F(ResumeOnAnotherWorldSize, OneRankStoppedMidEpochResumedOnTwoEndsWithinE5OfTheOneRankRun) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  ASSERT_EQ(run_command(stage3(1, "whole"), dir).exit_code, 0);
  ASSERT_EQ(run_command(stage3(1, "resumed") + " --max-steps 7", dir).exit_code, 0);
  const auto resumed = run_command(stage3(2, "resumed") + " --resume auto", dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("step-000000007.pt: epoch 1, batch 7, step 7\nResuming a 1-rank "
                             "checkpoint on 2 ranks: the global batch of 64 stays, 32 per rank\n"),
            std::string::npos)
      << resumed.out;
  EXPECT_EQ(count_lines(read_text(dir.path() / "resumed" / "metrics.jsonl")), 2);
  expect_close_models(dir, "whole", "resumed", 1e-5);
}

// 64 over 3 ranks: refused in one line with status 2, by stage 4's parent
// before it starts a worker, so before the checkpoint is read; the
// checkpoints stay as they were.
TEST_F(ResumeOnAnotherWorldSize, AGlobalBatchTheNewWorldSizeDoesNotDivideIsOneLineBeforeAnyWork) {
  ASSERT_EQ(run_command(stage1("run") + " --max-steps 8", dir).exit_code, 0);
  const auto checkpoints_before = read_text(dir.path() / "run" / "checkpoints" / "step-000000008.pt");
  const std::string stage4 = std::string("'") + kStage4Path + "' --nproc-per-node 3 --dist-timeout 30";
  const std::string refusal =
      "stage4_ddp_spawned: error: --batch-size 64 is not divisible by the world size 3: every rank "
      "takes an equal share of each batch (use 63 or 66)\n";
  const auto r = run_command(stage4 + job("run") + " --resume auto", dir);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, refusal);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(read_text(dir.path() / "run" / "checkpoints" / "step-000000008.pt"), checkpoints_before);
  // Before any work: no data read (there is none here), no output folder made.
  const auto early = run_command(stage4 + " --batch-size 64 --data-dir '" + dir / "no-data" +
                                     "' --output-dir '" + dir / "fresh" + "' --resume auto",
                                 dir);
  EXPECT_EQ(early.exit_code, 2) << early.err;
  EXPECT_EQ(early.err, refusal);
  EXPECT_FALSE(fs::exists(dir.path() / "fresh"));
}
