// Running an executable as a user would, for the end-to-end tests.
#pragma once

#include "build_config.h"
#include "test_files.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

// CPU ranks talk over Gloo, whose headers pip's LibTorch lacks (so on a GPU
// machine's build these tests have nothing to run with).
#define TUTORIAL_SKIP_WITHOUT_GLOO() \
  if (!TUTORIAL_WITH_GLOO) GTEST_SKIP() << "this LibTorch has no Gloo headers: CPU ranks need Gloo"

namespace tutorial::testdata {

// `env` arguments removing the variables a launcher may have set in the
// test's own environment, so a stage sees only what the test gives it.
inline const char* const kClearLauncherVariables =
    "env -u RANK -u LOCAL_RANK -u WORLD_SIZE -u LOCAL_WORLD_SIZE -u MASTER_ADDR -u MASTER_PORT "
    "-u SLURM_PROCID -u OMPI_COMM_WORLD_RANK ";

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs the shell command `command` (program, arguments, maybe variables before
// them) with stdout and stderr captured to files in `dir`.
inline RunResult run_command(const std::string& command, const TempDir& dir) {
  const auto out = dir.path() / "stdout.txt", err = dir.path() / "stderr.txt";
  const std::string full = command + " >'" + out.string() + "' 2>'" + err.string() + "'";
  const int status = std::system(full.c_str());
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(out);
  result.err = read_text(err);
  return result;
}

// The processes whose command line matches `pattern` (pgrep -f). Put the
// pattern's first character in brackets ("[s]tage3 ...") so that it does not
// match the shell running pgrep, whose command line holds the brackets.
inline std::string running_processes(const std::string& pattern, const TempDir& dir) {
  return run_command("pgrep -f '" + pattern + "'", dir).out;
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A job one of whose processes was sent a signal: what it printed, how long
// it took, and what of it was still running afterwards (pgrep's lines).
struct SignalledRun {
  RunResult result;
  double seconds = 0;
  std::string left_running;
};

inline RunResult run(const std::string& program, const std::string& args, const TempDir& dir) {
  return run_command("'" + program + "' " + args, dir);
}

// A Fashion-MNIST-shaped dataset of raw IDX files: `train` and `test` images.
inline void write_idx_dataset(const std::filesystem::path& dir, int64_t train, int64_t test) {
  for (const auto& [prefix, n] : {std::pair<std::string, int64_t>{"train", train}, {"t10k", test}}) {
    auto images = random_images(n, 1, 28, 28, static_cast<uint64_t>(n));
    auto labels = torch::arange(n, torch::kLong) % 10;
    write_bytes(dir / (prefix + "-images-idx3-ubyte"), idx_images_bytes(images));
    write_bytes(dir / (prefix + "-labels-idx1-ubyte"), idx_labels_bytes(labels));
  }
}

// CIFAR-10's binary files: the same `train` images (seed 5) in each of the
// five training batches, and the first `test` of them as the test batch.
inline void write_cifar10_dataset(const std::filesystem::path& dir, int64_t train, int64_t test) {
  const auto images = random_images(train, 3, 32, 32, 5);
  const auto labels = torch::arange(train, torch::kLong) % 10;
  for (int i = 1; i <= 5; ++i) {
    write_bytes(dir / ("data_batch_" + std::to_string(i) + ".bin"), cifar10_bytes(images, labels));
  }
  write_bytes(dir / "test_batch.bin",
              cifar10_bytes(images.slice(0, 0, test), labels.slice(0, 0, test)));
}

inline int count_lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// A finished two-rank run of the default job on 256 training samples: one
// log (rank 0's), whole-run progress, a saved model and one metrics line.
inline void expect_a_finished_two_rank_run(const RunResult& r, const TempDir& dir,
                                           const std::string& launcher) {
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("| world size     | 2 (" + launcher + ", backend gloo)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("| batch per rank | 32"), std::string::npos) << r.out;
  // Only rank 0 prints: one log, not two.
  EXPECT_EQ(r.out.find("Done!"), r.out.rfind("Done!")) << r.out;
  EXPECT_NE(r.out.find("[   64/  256]"), std::string::npos) << "progress counts both ranks\n"
                                                          << r.out;
  EXPECT_NE(r.out.find("Test Error: \n Accuracy: "), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "out" / "model.pth"));
  EXPECT_EQ(count_lines(read_text(dir.path() / "out" / "metrics.jsonl")), 1);
}

}  // namespace tutorial::testdata
