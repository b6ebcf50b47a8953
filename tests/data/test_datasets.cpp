#include "build_config.h"
#include "data/datasets.h"
#include "test_files.h"
#include "user_error_assertions.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>

namespace tutorial {
namespace {

using testdata::TempDir;
using testdata::throws_user_error;
namespace fs = std::filesystem;

const char* const kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

TEST(Datasets, KindNamesRoundTrip) {
  for (const DatasetKind kind : all_dataset_kinds()) {
    EXPECT_EQ(parse_dataset_kind(dataset_kind_name(kind)), kind);
  }
  EXPECT_EQ(parse_dataset_kind("fashion-mnist"), DatasetKind::kFashionMnist);
  EXPECT_EQ(parse_dataset_kind("image-folder"), DatasetKind::kImageFolder);
}

TEST(Datasets, UnknownKindListsValidNames) {
  EXPECT_TRUE(throws_user_error(
      [] { parse_dataset_kind("imagenet"); },
      {"unknown dataset 'imagenet'", "fashion-mnist, mnist, cifar10, cifar100, image-folder"}));
}

TEST(Datasets, NonexistentDataDirectory) {
  TempDir dir;
  for (const DatasetKind kind : all_dataset_kinds()) {
    EXPECT_TRUE(throws_user_error([&] { load_dataset(kind, dir / "nowhere", Split::kTrain); },
                                  {"data directory " + (dir / "nowhere") + " does not exist"}));
  }
}

TEST(Datasets, LoadsMnistWithDigitNames) {
  TempDir dir;
  const torch::Tensor images = testdata::random_images(3, 1, 28, 28);
  testdata::write_bytes(dir / "t10k-images-idx3-ubyte", testdata::idx_images_bytes(images));
  testdata::write_bytes(dir / "t10k-labels-idx1-ubyte",
                        testdata::idx_labels_bytes(torch::tensor({9, 0, 4}, torch::kInt64)));
  const ImageDataset test = load_dataset(DatasetKind::kMnist, dir.path().string(), Split::kTest);
  EXPECT_TRUE(torch::equal(test.images, images));
  EXPECT_EQ(test.class_names.front(), "0");
  EXPECT_EQ(test.class_names.back(), "9");
}

TEST(Datasets, LoadsCifar10) {
  TempDir dir;
  const torch::Tensor images = testdata::random_images(2, 3, 32, 32);
  testdata::write_bytes(dir / "test_batch.bin",
                        testdata::cifar10_bytes(images, torch::tensor({3, 7}, torch::kInt64)));
  const ImageDataset test = load_dataset(DatasetKind::kCifar10, dir.path().string(), Split::kTest);
  EXPECT_TRUE(torch::equal(test.images, images));
  EXPECT_EQ(test.class_names[3], "cat");
}

TEST(Datasets, ImageFolderSplitsShareTrainingClasses) {
  if (!TUTORIAL_WITH_PNG) GTEST_SKIP() << "built without libpng";
  TempDir dir;
  const torch::Tensor image = testdata::random_images(1, 3, 5, 5)[0];
  for (const char* cls : {"ant", "bee"}) {
    testdata::write_bytes(dir.path() / "train" / cls / "1.png", testdata::png_bytes(image));
    testdata::write_bytes(dir.path() / "test" / cls / "1.png", testdata::png_bytes(image));
  }
  const ImageDataset test =
      load_dataset(DatasetKind::kImageFolder, dir.path().string(), Split::kTest);
  EXPECT_EQ(test.class_names, (std::vector<std::string>{"ant", "bee"}));
  EXPECT_TRUE(torch::equal(test.labels, torch::tensor({0, 1}, torch::kInt64)));

  ASSERT_TRUE(testdata::remove_tree(dir.path() / "test" / "bee"));
  EXPECT_TRUE(throws_user_error(
      [&] { load_dataset(DatasetKind::kImageFolder, dir.path().string(), Split::kTest); },
      {dir / "test", "has no folder for class 'bee'"}));
}

TEST(Datasets, ImageFolderWithoutSplitFoldersNamesThem) {
  TempDir dir;
  EXPECT_TRUE(throws_user_error(
      [&] { load_dataset(DatasetKind::kImageFolder, dir.path().string(), Split::kTrain); },
      {dir / "train", "does not exist"}));
}

TEST(Datasets, DefaultDataDirOnlyForInstallableDatasets) {
  EXPECT_TRUE(throws_user_error([] { default_data_dir(DatasetKind::kCifar10); },
                                {"no --data-dir given", "cifar-10-binary.tar.gz"}));
  EXPECT_TRUE(throws_user_error([] { default_data_dir(DatasetKind::kImageFolder); },
                                {"no --data-dir given"}));
  if (fs::is_directory(kFashionMnistDir)) {
    EXPECT_EQ(default_data_dir(DatasetKind::kFashionMnist), kFashionMnistDir);
  } else {
    EXPECT_TRUE(
        throws_user_error([] { default_data_dir(DatasetKind::kFashionMnist); },
                          {"no --data-dir given and /usr/share/datasets/fashion-mnist is missing",
                           "apt-get install dataset-fashion-mnist"}));
  }
}

TEST(Datasets, ChannelStatsMatchDirectComputation) {
  ImageDataset data;
  data.images = testdata::random_images(10, 3, 7, 5);
  data.labels = torch::zeros({10}, torch::kInt64);
  data.class_names = {"x"};
  const NormalizationStats stats = channel_stats(data);
  ASSERT_EQ(stats.mean.size(), 3u);
  ASSERT_EQ(stats.std.size(), 3u);
  const torch::Tensor scaled = data.images.to(torch::kFloat64) / 255.0;
  for (int64_t c = 0; c < 3; ++c) {
    const torch::Tensor channel = scaled.select(1, c);
    EXPECT_NEAR(stats.mean[c], channel.mean().item<double>(), 1e-12);
    const double variance = (channel - channel.mean()).pow(2).mean().item<double>();
    EXPECT_NEAR(stats.std[c], std::sqrt(variance), 1e-12);
  }
}

TEST(Datasets, ChannelStatsOfConstantImageHaveZeroStd) {
  ImageDataset data;
  data.images = torch::full({2, 1, 3, 3}, 51, torch::kUInt8);
  data.labels = torch::zeros({2}, torch::kInt64);
  const NormalizationStats stats = channel_stats(data);
  EXPECT_NEAR(stats.mean[0], 0.2, 1e-12);
  EXPECT_NEAR(stats.std[0], 0.0, 1e-6);
}

TEST(Datasets, RealFashionMnist) {
  if (!fs::is_directory(kFashionMnistDir)) {
    GTEST_SKIP() << kFashionMnistDir << " is absent (apt-get install dataset-fashion-mnist)";
  }
  if (!TUTORIAL_WITH_ZLIB) GTEST_SKIP() << "built without zlib, and the files are .gz";
  const auto start = std::chrono::steady_clock::now();
  const ImageDataset train =
      load_dataset(DatasetKind::kFashionMnist, kFashionMnistDir, Split::kTrain);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "loaded the Fashion-MNIST training split in " << seconds << " s\n";
  const ImageDataset test =
      load_dataset(DatasetKind::kFashionMnist, kFashionMnistDir, Split::kTest);

  EXPECT_EQ(train.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(train.images.dtype(), torch::kUInt8);
  EXPECT_EQ(test.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(train.labels.dtype(), torch::kInt64);
  EXPECT_EQ(train.labels.min().item<int64_t>(), 0);
  EXPECT_EQ(train.labels.max().item<int64_t>(), 9);
  // Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
  EXPECT_TRUE(torch::equal(torch::bincount(train.labels), torch::full({10}, 6000, torch::kInt64)));
  EXPECT_TRUE(torch::equal(torch::bincount(test.labels), torch::full({10}, 1000, torch::kInt64)));
  EXPECT_EQ(train.class_names.front(), "T-shirt/top");

  const NormalizationStats stats = channel_stats(train);
  EXPECT_NEAR(stats.mean[0], 0.2860, 1e-3);
  EXPECT_NEAR(stats.std[0], 0.3530, 1e-3);
}

}  // namespace
}  // namespace tutorial
