// Each executable end to end, as a user runs it: a short run on small data the
// test writes, and every kind of bad input ending in one line and exit status 2.
#include "stage_paths.h"
#include "stage_runner.h"
#include "test_files.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

using namespace tutorial::testdata;
namespace fs = std::filesystem;


class Stages : public testing::TestWithParam<std::string> {};

TEST_P(Stages, ShortRunTrainsEvaluatesAndSaves) {
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 256, 64);
  const auto r = run(GetParam(),
                     "--data-dir " + dir / "data" + " --max-steps 3 --log-interval 1 --output-dir " +
                         dir / "out",
                     dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| model        | mlp (669706 parameters)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Epoch 1\n-------------------------------\nloss: "), std::string::npos);
  EXPECT_NE(r.out.find("[  128/  256]"), std::string::npos) << r.out;  // batch 2 of 64
  EXPECT_NE(r.out.find("Test Error: \n Accuracy: "), std::string::npos);
  EXPECT_EQ(r.out.find("Epoch 2"), std::string::npos) << "--max-steps 3 ends in epoch 1";
  EXPECT_NE(r.out.find("Done!\nSaved PyTorch Model State to "), std::string::npos);
  EXPECT_TRUE(fs::exists(dir.path() / "out" / "model.pth"));
  EXPECT_TRUE(fs::exists(dir.path() / "out" / "optimizer.pth"));
  const auto metrics = read_text(dir.path() / "out" / "metrics.jsonl");
  EXPECT_EQ(count_lines(metrics), 1);
  EXPECT_NE(metrics.find("\"step\": 3,"), std::string::npos) << metrics;
  EXPECT_EQ(r.err, "");
}

TEST_P(Stages, HelpListsTheOptions) {
  TempDir dir;
  const auto r = run(GetParam(), "--help", dir);
  ASSERT_EQ(r.exit_code, 0);
  for (const char* option : {"--data-dir", "--dataset", "--model", "--epochs", "--batch-size",
                             "--lr", "--momentum", "--weight-decay", "--schedule", "--seed",
                             "--device", "--output-dir", "--log-interval", "--max-steps",
                             "--amp", "--channels-last", "--data-on-device", "--cuda-graph",
                             "--no-progress"}) {
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
  }
  // Every option states its default, the switches too. An option's text
  // starts on a line "  [-x, ]--name ..." and may wrap onto deeper lines.
  const std::regex option_start(R"(^\s{1,8}(-\w, )?--([\w-]+))");
  std::vector<std::pair<std::string, std::string>> options;  // name, text
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_search(line, match, option_start)) {
      options.push_back({match[2], line});
    } else if (!options.empty() && line.rfind("          ", 0) == 0) {
      options.back().second += line;
    }
  }
  EXPECT_GT(options.size(), 25u);
  for (const auto& [name, text] : options) {
    if (name != "help") {
      EXPECT_NE(text.find("(default: "), std::string::npos) << text;
    }
  }
}

TEST_P(Stages, OnATerminalAProgressBarIsDrawnAndNoProgressTurnsItOff) {
  if (!fs::exists("/usr/bin/script")) GTEST_SKIP() << "no /usr/bin/script (bsdutils) for a terminal";
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 256, 64);
  const std::string job = "'" + GetParam() + "' --device cpu --data-dir " + dir / "data" +
                          " --max-steps 3 --output-dir " + dir / "out";
  // script(1) runs the stage on a pseudo-terminal and copies what it draws.
  const auto on_terminal = [&](const std::string& more) {
    return run_command("TERM=xterm script -qec \"" + job + more + "\" /dev/null", dir);
  };
  const auto drawn = on_terminal("");
  ASSERT_EQ(drawn.exit_code, 0) << drawn.out;
  EXPECT_NE(drawn.out.find("\r\033[KEpoch 1/5  ["), std::string::npos) << drawn.out;
  EXPECT_NE(drawn.out.find("samples/s  ETA "), std::string::npos) << drawn.out;
  EXPECT_NE(drawn.out.find("loss: "), std::string::npos) << "the log lines stay";
  const auto turned_off = on_terminal(" --no-progress");
  ASSERT_EQ(turned_off.exit_code, 0) << turned_off.out;
  EXPECT_EQ(turned_off.out.find("\033[K"), std::string::npos) << turned_off.out;
  const auto logged = run_command(job, dir);  // stdout a file, as in CI
  ASSERT_EQ(logged.exit_code, 0) << logged.err;
  EXPECT_EQ(logged.out.find("\033[K"), std::string::npos) << logged.out;
  EXPECT_NE(logged.out.find("loss: "), std::string::npos);
}

TEST_P(Stages, FastPathOptionsRunOnTheCpuAndSayWhatTheyCannotDo) {
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 256, 64);
  // A CPU with bf16 instructions, whatever this one has.
  const auto r = run_command("TUTORIAL_CPU_FLAGS='avx2 avx512_bf16' '" + GetParam() +
                                 "' --device cpu --amp --channels-last --data-on-device "
                                 "--cuda-graph --data-dir " +
                                 dir / "data" + " --max-steps 3 --output-dir " + dir / "out",
                             dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| fast path    | amp bf16, channels-last, data on device, cuda graph not "
                       "used (CUDA graphs need a CUDA device, not cpu)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("--amp: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--cuda-graph: CUDA graphs need a CUDA device, not cpu; training eagerly"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Test Error: \n Accuracy: "), std::string::npos);
  EXPECT_TRUE(fs::exists(dir.path() / "out" / "model.pth"));
}

TEST_P(Stages, AmpOnACpuWithoutBf16KernelsSaysSoInOneLineAndTrains) {
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 256, 64);
  // A CPU with AVX2 only, whatever this one has.
  const auto r = run_command("TUTORIAL_CPU_FLAGS='fpu sse2 avx2 fma' '" + GetParam() +
                                 "' --device cpu --amp --data-dir " + dir / "data" +
                                 " --max-steps 1 --output-dir " + dir / "out",
                             dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string line =
      "--amp: this CPU has neither bf16 instructions (AVX512-BF16, AMX, Arm BF16) nor AVX-512: "
      "LibTorch's bf16 runs in generic loops, 5-15x slower than float32; training in bf16 as "
      "asked\n";
  const auto said = r.out.find(line);
  ASSERT_NE(said, std::string::npos) << r.out;
  EXPECT_EQ(said, r.out.rfind("--amp: ")) << "said once";
  EXPECT_LT(said, r.out.find("Epoch 1\n")) << "before training";
  EXPECT_NE(r.out.find("| fast path    | amp bf16 (slow on this CPU) "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Done!"), std::string::npos);
  EXPECT_EQ(r.err, "");
}

TEST_P(Stages, BadInputEndsInOneLineAndExitStatus2) {
  TempDir dir;
  const auto data = dir.path() / "data";
  write_idx_dataset(data, 64, 16);
  const auto truncated = dir.path() / "truncated";
  write_idx_dataset(truncated, 64, 16);
  fs::resize_file(truncated / "train-images-idx3-ubyte", 1000);
  const auto bad_magic = dir.path() / "bad_magic";
  write_idx_dataset(bad_magic, 64, 16);
  fs::copy_file(bad_magic / "train-labels-idx1-ubyte", bad_magic / "train-images-idx3-ubyte",
                fs::copy_options::overwrite_existing);
  const auto bad_label = dir.path() / "bad_label";
  write_idx_dataset(bad_label, 64, 16);
  write_bytes(bad_label / "t10k-labels-idx1-ubyte",
              idx_labels_bytes(torch::full({16}, 12, torch::kLong)));
  const auto missing = dir.path() / "missing";
  write_idx_dataset(missing, 64, 16);
  fs::remove(missing / "t10k-labels-idx1-ubyte");

  const std::string d = " --data-dir " + data.string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--data-dir " + (dir.path() / "nowhere").string(), "nowhere"},
      {"--data-dir " + missing.string(), "t10k-labels-idx1-ubyte"},
      {"--data-dir " + truncated.string(), "train-images-idx3-ubyte"},
      {"--data-dir " + bad_magic.string(), "magic"},
      {"--data-dir " + bad_label.string(), "label"},
      {d + " --batch-size 0", "--batch-size"},
      {d + " --lr -1", "--lr"},
      {d + " --lr fast", "--lr"},
      {d + " --model vgg16", "vgg16"},
      {d + " --dataset imagenet", "imagenet"},
      {d + " --max-steps -1", "--max-steps"},
      {d + " --device tpu", "--device"},
      {d + " --bogus", "bogus"},
  };
  for (const auto& [args, phrase] : cases) {
    const auto r = run(GetParam(), args + " --output-dir " + dir / "out", dir);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << args << ": stderr is\n" << r.err;
    EXPECT_NE(r.err.find(": error: "), std::string::npos) << args << ": " << r.err;
    EXPECT_NE(r.err.find(phrase), std::string::npos) << args << ": " << r.err;
  }
}

// Checked before the data is read (the data folder here does not exist): a run
// that could not save its model says so at once.
TEST_P(Stages, AnOutputFolderThatCannotBeUsedIsRefusedAtStart) {
  TempDir dir;
  write_bytes(dir.path() / "a-file", {1, 2, 3});
  const std::string nowhere = " --data-dir " + (dir.path() / "nowhere").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {(dir.path() / "a-file").string(), "a file of that name is in the way"},
      {(dir.path() / "a-file" / "below").string(), "cannot create the folder"},
      {"/proc/forbidden", "cannot create the folder"},
  };
  for (const auto& [folder, phrase] : cases) {
    const auto r = run(GetParam(), nowhere + " --output-dir " + folder, dir);
    EXPECT_EQ(r.exit_code, 2) << folder << "\n" << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << folder << ": stderr is\n" << r.err;
    EXPECT_NE(r.err.find("error: --output-dir " + folder + ": " + phrase), std::string::npos)
        << r.err;
  }
  // A folder this user may not write in: permission bits bind only a user
  // other than root, so the run drops to nobody (65534) for this case.
  if (::geteuid() != 0) GTEST_SKIP() << "not root: cannot run as another user";
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read |
                                  fs::perms::group_exec | fs::perms::others_read |
                                  fs::perms::others_exec);
  const auto read_only = dir.path() / "read-only";
  fs::create_directory(read_only);
  const auto r = run_command("setpriv --reuid=65534 --regid=65534 --clear-groups '" + GetParam() +
                                 "'" + nowhere + " --output-dir " + read_only.string(),
                             dir);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--output-dir " + read_only.string() +
                       ": cannot write in this folder (Permission denied)"),
            std::string::npos)
      << r.err;
}

// Paths that this user may not look into: LibTorch and the standard library
// throw file system errors there, which used to read as internal errors.
TEST_P(Stages, APathThisUserMayNotLookIntoIsOneLine) {
  if (::geteuid() != 0) GTEST_SKIP() << "not root: cannot run as another user";
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_exec);
  const auto private_dir = dir.path() / "private";
  fs::create_directory(private_dir);
  fs::permissions(private_dir, fs::perms::owner_all);
  write_idx_dataset(dir.path() / "data", 64, 16);
  fs::create_directory(dir.path() / "out");
  fs::permissions(dir.path() / "out", fs::perms::all);
  const std::string out = " --output-dir " + (dir.path() / "out").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--data-dir " + (private_dir / "data").string(), (private_dir / "data").string()},
      {"--data-dir " + (dir.path() / "data").string() + " --resume " +
           (private_dir / "step.pt").string(),
       (private_dir / "step.pt").string()},
  };
  for (const auto& [args, path] : cases) {
    const auto r = run_command("setpriv --reuid=65534 --regid=65534 --clear-groups '" +
                                   GetParam() + "' " + args + out,
                               dir);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << args << ": " << r.err;
    EXPECT_NE(r.err.find(": error: " + path + ": Permission denied"), std::string::npos)
        << args << ": " << r.err;
  }
}

// A batch that does not fit: LibTorch's allocator fails, and the line says
// what to ask for instead. The address space is limited (ulimit -v) to 4 GB,
// the first convolution's output alone is 1 GB and the forward pass 20.
TEST_P(Stages, RunningOutOfMemoryIsOneLineNamingTheBatchSize) {
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 20000, 16);
  const auto r = run_command("ulimit -v 4000000; exec '" + GetParam() + "' --data-dir " +
                                 (dir.path() / "data").string() + " --output-dir " +
                                 (dir.path() / "out").string() +
                                 " --model resnet20 --batch-size 20000 --max-steps 1",
                             dir);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(": error: out of memory: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a smaller --batch-size"), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(AllStages, Stages, testing::Values(kStage1Path, kStage2Path),
                         [](const testing::TestParamInfo<std::string>& param_info) {
                           return fs::path(param_info.param).filename().string();
                         });

TEST(Stage2, SaysWhyItRunsOnOneDevice) {
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 64, 16);
  const auto r = run(kStage2Path,
                     "--device cpu --data-dir " + dir / "data" + " --max-steps 1 --output-dir " +
                         dir / "out",
                     dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Note: DataParallel needs two or more GPUs; training on cpu alone"),
            std::string::npos)
      << r.out;
}

TEST(Stage2, DevicesThatAreNotThereEndInOneLineAndExitStatus2) {
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 64, 16);
  const std::string d = "--data-dir " + dir / "data" + " --max-steps 1 --output-dir " + dir / "out";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {d + " --devices 99", "--devices: GPU 99 requested, but "},
      {d + " --device cpu --devices 0,1", "--devices names GPUs, but --device cpu was given"},
      {d + " --devices 0,-1", "--devices"},
  };
  for (const auto& [args, phrase] : cases) {
    const auto r = run(kStage2Path, args, dir);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << args << ": stderr is\n" << r.err;
    EXPECT_NE(r.err.find(phrase), std::string::npos) << args << ": " << r.err;
  }
}

TEST(Stage1, TrainsResNet20OnCifar10BinaryFiles) {
  TempDir dir;
  const auto data = dir.path() / "cifar";
  write_cifar10_dataset(data, 64, 16);
  const auto r = run(kStage1Path,
                     "--dataset cifar10 --model resnet20 --batch-size 32 --max-steps 2 --data-dir " +
                         data.string() + " --output-dir " + dir / "out",
                     dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("resnet20 (269722 parameters)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("random crop (pad 4) + flip"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Test Error"), std::string::npos);
}

TEST(Stage1, TrainsOnAnImageFolder) {
  TempDir dir;
  const auto data = dir.path() / "folder";
  const auto images = random_images(12, 3, 16, 16, 9);
  for (const std::string split : {"train", "test"}) {
    for (int64_t i = 0; i < 12; ++i) {
      const std::string label = i % 2 ? "cat" : "dog";
      write_bytes(data / split / label / (std::to_string(i) + ".png"), png_bytes(images[i]));
    }
  }
  const auto r = run(kStage1Path,
                     "--dataset image-folder --model resnet20 --batch-size 4 --max-steps 2 "
                     "--data-dir " + data.string() + " --output-dir " + dir / "out",
                     dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("12 x 3x16x16"), std::string::npos) << r.out;
}
