// The engine trains: on an easy synthetic task the loss falls and accuracy
// passes a stated bar; metrics and the saved model come out right.
#include "core/errors.h"
#include "models/model_factory.h"
#include "pipeline/batch_loader.h"
#include "python_peer.h"
#include "test_files.h"
#include "user_error_assertions.h"
#include "train/checkpoints.h"
#include "train/state_dict.h"
#include "train/engine.h"
#include "train/metrics_file.h"
#include "train/optimizer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace tutorial;
using tutorial::testdata::throws_user_error;

namespace {

// Four classes of 1x8x8 images: class k has a bright 4x4 quadrant k, on noise.
ImageDataset quadrant_task(int64_t n, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  ImageDataset d;
  d.labels = torch::randint(0, 4, {n}, gen, torch::kLong);
  auto images = torch::randint(0, 100, {n, 1, 8, 8}, gen, torch::kLong);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = d.labels[i].item<int64_t>();
    images[i].slice(1, (k / 2) * 4, (k / 2) * 4 + 4).slice(2, (k % 2) * 4, (k % 2) * 4 + 4) += 150;
  }
  d.images = images.to(torch::kUInt8);
  d.class_names = {"a", "b", "c", "d"};
  return d;
}

std::filesystem::path fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("tutorial_test_" + name + "_" + std::to_string(::getpid()));
  tutorial::testdata::remove_tree(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

// The MLP on the quadrant task, with its loader, optimizer and trainer.
struct QuadrantRun {
  QuadrantRun(int64_t samples, int64_t batch_size, TrainConfig config, TrainerOptions options)
      : data(quadrant_task(samples, 1)),
        loader(data, ShardedSampler(data.size(), SamplerOptions()),
               LoaderOptions(batch_size)),
        model(make_model("mlp", {1, 8, 8}, 4)),
        sgd(make_sgd(model->parameters(), config)),
        trainer(*model.module(), [this](const torch::Tensor& x) { return model.forward(x); }, sgd,
                LrSchedule("constant", config.lr, 1000), BatchTransform{}, BatchTransform{},
                options) {}

  TrainEpochResult train_epoch(int64_t epoch) {
    loader.start_epoch(epoch);
    return trainer.train_epoch(loader);
  }

  ImageDataset data;
  BatchLoader loader;
  Classifier model;
  ForeachSgd sgd;
  Trainer trainer;
};

TEST(Training, LossFallsAndAccuracyPassesTheBar) {
  torch::manual_seed(0);
  TrainConfig config;
  config.lr = 0.05;
  config.momentum = 0.9;
  QuadrantRun run(512, 32, config, TrainerOptions{1000, 0, 0, {}});
  auto test = quadrant_task(256, 2);
  BatchLoader test_loader(test, ShardedSampler(test.size(), SamplerOptions().shuffle(false)),
                          LoaderOptions(64));
  std::vector<double> losses;
  EvalResult result;
  for (int64_t epoch = 0; epoch < 5; ++epoch) {
    losses.push_back(run.train_epoch(epoch).mean_loss);
    test_loader.start_epoch(0);
    result = run.trainer.evaluate(test_loader);
  }
  EXPECT_EQ(run.trainer.step(), 5 * 16);
  EXPECT_LT(losses.back(), losses.front() / 4);
  EXPECT_EQ(result.samples, 256);
  EXPECT_EQ(result.batches, 4);
  EXPECT_GE(result.accuracy(), 0.97);
}

TEST(Training, MaxStepsStopsMidEpoch) {
  QuadrantRun run(256, 16, TrainConfig{}, TrainerOptions{1000, 5, 0, {}});
  auto result = run.train_epoch(0);
  EXPECT_EQ(result.steps, 5);
  EXPECT_EQ(result.samples, 80);
  EXPECT_TRUE(run.trainer.reached_max_steps());
}

TEST(Training, LabelSmoothingSmoothsTheTrainingLoss) {
  for (const double smoothing : {0.0, 0.2}) {
    torch::manual_seed(0);
    TrainerOptions options{1000, /*max_steps=*/1, 0, {}};
    options.label_smoothing = smoothing;
    QuadrantRun run(64, 16, TrainConfig{}, options);
    // The first batch, as the run's loader will give it, through the untrained model.
    BatchLoader same(run.data, ShardedSampler(run.data.size(), SamplerOptions()),
                     LoaderOptions(16));
    same.start_epoch(0);
    const auto batch = *same.next();
    const auto logits = run.model.forward(to_unit_float(batch.images));
    namespace F = torch::nn::functional;
    const double smoothed =
        F::cross_entropy(logits, batch.labels, F::CrossEntropyFuncOptions().label_smoothing(0.2))
            .item<double>();
    const double plain = F::cross_entropy(logits, batch.labels).item<double>();
    ASSERT_GT(std::abs(smoothed - plain), 1e-3);
    EXPECT_NEAR(run.train_epoch(0).mean_loss, smoothing > 0 ? smoothed : plain, 1e-6);
  }
}

TEST(Training, PrintsTheTutorialsLogLines) {
  QuadrantRun run(64, 16, TrainConfig{}, TrainerOptions{2, 0, 0, {}});
  testing::internal::CaptureStdout();
  run.train_epoch(0);
  const auto printed = testing::internal::GetCapturedStdout();
  // Batches 0 and 2 of 4: "loss: 1.386294  [    0/   64]".
  EXPECT_NE(printed.find("]\nloss: "), std::string::npos) << printed;
  EXPECT_NE(printed.find("  [    0/   64]"), std::string::npos) << printed;
  EXPECT_NE(printed.find("  [   32/   64]"), std::string::npos) << printed;
  EvalResult r{3.0, 3, 643, 1000};
  EXPECT_EQ(format_test_result(r), "Test Error: \n Accuracy: 64.3%, Avg loss: 1.000000 \n");
}

TEST(Training, MetricsFileHasOneJsonLinePerEpoch) {
  const auto dir = fresh_dir("metrics");
  {
    MetricsFile metrics((dir / "metrics.jsonl").string());
    metrics.append({1, 938, 1e-3, 2.1, 2.0, 0.41, 9.5, 6300});
    metrics.append({2, 1876, 1e-3, 1.9, 1.8, 0.55, 9.4, 6350});
  }
  std::ifstream in(dir / "metrics.jsonl");
  std::string first, second, third;
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_FALSE(std::getline(in, third));
  EXPECT_EQ(first,
            "{\"epoch\": 1, \"step\": 938, \"lr\": 0.001, \"train_loss\": 2.100000, "
            "\"test_loss\": 2.000000, \"test_accuracy\": 0.410000, \"epoch_seconds\": 9.500, "
            "\"samples_per_second\": 6300.0}");
  EXPECT_NE(second.find("\"epoch\": 2"), std::string::npos);
  tutorial::testdata::remove_tree(dir);
}

// Ranks other than 0 hold a MetricsFile that writes nothing: rank 0's file,
// which may sit in the same folder, is left alone.
TEST(Training, AMetricsFileThatDoesNotWriteLeavesTheFileAlone) {
  const auto dir = fresh_dir("metrics_quiet");
  const auto path = (dir / "metrics.jsonl").string();
  {
    MetricsFile quiet(path, 0, /*writes=*/false);
    quiet.append({1, 10, 0.1});
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  {
    MetricsFile rank0(path);
    rank0.append({1, 10, 0.1});
    MetricsFile rank1(path, 0, /*writes=*/false);
    rank1.append({1, 10, 0.1});
  }
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  EXPECT_EQ(lines.size(), 1u);
  tutorial::testdata::remove_tree(dir);
}

TEST(Training, AnEpochsSamplesPerSecondCountEveryRank) {
  TrainEpochResult result;
  result.samples = 300;
  result.seconds = 2;
  EXPECT_DOUBLE_EQ(result.samples_per_second(), 150);
  result.world_size = 4;
  EXPECT_DOUBLE_EQ(result.samples_per_second(), 600);
}

TEST(Training, AResumedRunsMetricsFileKeepsTheEpochsCompletedBeforeIt) {
  const auto dir = fresh_dir("metrics_resume");
  const auto path = (dir / "metrics.jsonl").string();
  {
    MetricsFile killed(path);  // a run that finished 3 epochs, then was killed
    for (int64_t epoch = 1; epoch <= 3; ++epoch) killed.append({epoch, 10 * epoch, 0.1});
  }
  {
    MetricsFile resumed(path, /*completed_epochs=*/2);  // its checkpoint was in epoch 3
    resumed.append({3, 30, 0.01});
    resumed.append({4, 40, 0.01});
  }
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].rfind("{\"epoch\": " + std::to_string(i + 1) + ",", 0), 0u) << lines[i];
  }
  EXPECT_NE(lines[1].find("\"lr\": 0.1,"), std::string::npos) << "epoch 2 is the first run's";
  EXPECT_NE(lines[2].find("\"lr\": 0.01,"), std::string::npos) << "epoch 3 is the resumed run's";
  {
    MetricsFile fresh(path);  // a new run starts a new file
  }
  std::ifstream again(path);
  std::string any;
  EXPECT_FALSE(std::getline(again, any));
  tutorial::testdata::remove_tree(dir);
}

TEST(Training, SavedModelLoadsBackIdentically) {
  const auto dir = fresh_dir("save");
  torch::manual_seed(1);
  auto model = make_model("resnet20", {3, 32, 32}, 10);
  model.forward(torch::rand({8, 3, 32, 32}));  // moves BatchNorm running statistics
  auto sgd = make_sgd(model->parameters(), TrainConfig{});
  const auto path = save_trained_model(model.module(), sgd, (dir / "out").string());
  EXPECT_EQ(path, (dir / "out" / "model.pth").string());
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "optimizer.pth"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "model.pth.tmp"));

  torch::manual_seed(2);
  auto loaded = make_model("resnet20", {3, 32, 32}, 10);
  load_trained_model(loaded.module(), path);
  auto expected = model->named_parameters();
  for (const auto& p : loaded->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), expected[p.key()])) << p.key();
  }
  auto expected_buffers = model->named_buffers();
  for (const auto& b : loaded->named_buffers()) {
    EXPECT_TRUE(torch::equal(b.value(), expected_buffers[b.key()])) << b.key();
  }
  auto other = make_model("mlp", {3, 32, 32}, 10);
  EXPECT_THROW(load_trained_model(other.module(), path), UserError);
  EXPECT_THROW(load_trained_model(other.module(), (dir / "missing.pth").string()), UserError);
  tutorial::testdata::remove_tree(dir);
}

namespace {

// A model file holding `pickle` as its data.pkl.
void write_pickle_archive(const std::string& path, const std::string& pickle) {
  std::vector<char> archive;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    archive.insert(archive.end(), static_cast<const char*>(data),
                   static_cast<const char*>(data) + size);
    return size;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeEndOfFile();
  std::ofstream(path, std::ios::binary).write(archive.data(),
                                              static_cast<std::streamsize>(archive.size()));
}

}  // namespace

// Found by fuzz_state_dict (scripts/sanitize.sh), each a UserError now:
// - a 1 KB file whose pickle claims a 2 GB string made LibTorch's unpickler
//   allocate and fill that much before failing (the claim is checked first);
// - a dict keyed by a tuple made the unpickler throw std::runtime_error, not
//   c10::Error, which ended the program (both are caught).
TEST(Training, ModelFilesThatUpsetLibTorchsUnpicklerAreUserErrors) {
  const auto dir = fresh_dir("claims");
  const auto path = (dir / "model.pth").string();
  auto model = make_model("mlp", {1, 28, 28}, 10);
  const std::vector<std::pair<std::string, std::string>> cases = {
      // PROTO 2, BINUNICODE of 0x7fffffff bytes, then 3 bytes and STOP.
      {std::string("\x80\x02X\xff\xff\xff\x7f" "abc.", 11),
       "an item claims 2147483647 bytes where 4 are left"},
      // PROTO 2, {(1, 2): 3}.
      {std::string("\x80\x02}q\x00(K\x01K\x02\x86K\x03u.", 15), "Can't hash IValues"},
      // PROTO 2, {}, MARK, BUILD: BUILD takes the dict and an item that is not
      // there (LibTorch then frees memory it never allocated; found by fuzzing).
      {std::string("\x80\x02}q\x00(b.", 8), "opcode 98 at byte 6 takes items it does not hold"},
      // TUPLE2 of one item; SETITEMS with no MARK; STOP on an empty stack.
      {std::string("\x80\x02K\x01\x86.", 6), "opcode 134 at byte 4 takes items"},
      {std::string("\x80\x02}K\x01K\x02u.", 9), "opcode 117 at byte 7 takes items"},
      {std::string("\x80\x02.", 3), "opcode 46 at byte 2 takes items"},
      // PROTO 2, {}, LONG_BINPUT 1903434353 (LibTorch would make its memo
      // 30 GB; found by fuzzing), BINGET of an entry never memoized.
      {std::string("\x80\x02}rq\x1atq.", 9), "memo index 1903434353 at byte 3 is beyond the 0"},
      {std::string("\x80\x02}q\x00h\x01.", 8), "memo index 1 at byte 5 is beyond the 1 items"},
  };
  for (const auto& [pickle, phrase] : cases) {
    write_pickle_archive(path, pickle);
    EXPECT_TRUE(throws_user_error([&] { load_trained_model(model.module(), path); },
                                  {path, phrase}));
  }
  // A real model.pth passes the check.
  auto sgd = make_sgd(model->parameters(), TrainConfig{});
  const auto saved = save_trained_model(model.module(), sgd, (dir / "out").string());
  EXPECT_NO_THROW(load_trained_model(model.module(), saved));
  tutorial::testdata::remove_tree(dir);
}

// Every input the fuzzer found (tests/fuzz/regressions/fuzz_state_dict) is
// one line for the user, from both readers, with the fuzz target's model (one
// Linear(4, 2)), so that a checkpoint's optimizer state is reached too; under
// the sanitizers (scripts/sanitize.sh) also no overrun: LibTorch 1.13 read
// past its buffer on two of them.
TEST(Training, EveryStateDictFileTheFuzzerFoundIsAUserError) {
  auto model = std::make_shared<torch::nn::LinearImpl>(4, 2);
  auto sgd = make_sgd(model->parameters(), TrainConfig{});
  const auto scratch = fresh_dir("fuzz-regressions");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kStateDictRegressions)) {
    ++files;
    const std::string path = entry.path().string();
    EXPECT_TRUE(throws_user_error([&] { load_trained_model(model, path); }, {path}));
    EXPECT_TRUE(throws_user_error(
        [&] { Checkpoints(scratch.string(), 1, "", 1, 64).resume(path, *model, sgd); }, {path}));
  }
  EXPECT_GE(files, 6);
  tutorial::testdata::remove_tree(scratch);
}

// Found by fuzz_state_dict (scripts/sanitize.sh): a zip archive whose central
// directory is damaged. A UserError; LibTorch 1.13's reader leaks a little
// memory on it, which is LibTorch's (tests/fuzz/lsan_suppressions.txt).
TEST(Training, AModelFileWithADamagedZipDirectoryIsAUserError) {
  const auto dir = fresh_dir("damaged");
  auto model = make_model("mlp", {1, 28, 28}, 10);
  auto sgd = make_sgd(model->parameters(), TrainConfig{});
  const auto path = save_trained_model(model.module(), sgd, (dir / "out").string());
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto directory = bytes.rfind("PK\x01\x02");  // the last central directory entry
  ASSERT_NE(directory, std::string::npos);
  bytes[directory + 1] = 'Z';
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_TRUE(throws_user_error([&] { load_trained_model(model.module(), path); },
                                {path, "not a PyTorch state dict file"}));
  tutorial::testdata::remove_tree(dir);
}
