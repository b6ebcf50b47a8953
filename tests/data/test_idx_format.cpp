#include "build_config.h"
#include "data/class_names.h"
#include "data/idx_format.h"
#include "test_files.h"
#include "user_error_assertions.h"

#include <gtest/gtest.h>

namespace tutorial {
namespace {

using testdata::TempDir;
using testdata::throws_user_error;

torch::Tensor some_labels(int64_t n) { return torch::arange(n, torch::kInt64) % 10; }

// Writes the four files of an MNIST-style folder (raw or .gz), `n` images per split.
void write_idx_folder(const TempDir& dir, int64_t n, bool gz) {
  auto write = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
    if (gz) {
      testdata::write_gzip(dir / (name + ".gz"), bytes);
    } else {
      testdata::write_bytes(dir / name, bytes);
    }
  };
  write("train-images-idx3-ubyte",
        testdata::idx_images_bytes(testdata::random_images(n, 1, 28, 28, 1)));
  write("train-labels-idx1-ubyte", testdata::idx_labels_bytes(some_labels(n)));
  write("t10k-images-idx3-ubyte",
        testdata::idx_images_bytes(testdata::random_images(n / 2, 1, 28, 28, 2)));
  write("t10k-labels-idx1-ubyte", testdata::idx_labels_bytes(some_labels(n / 2)));
}

TEST(IdxFormat, ImagesRoundTrip) {
  TempDir dir;
  const torch::Tensor images = testdata::random_images(7, 1, 5, 3);
  testdata::write_bytes(dir / "images", testdata::idx_images_bytes(images));
  const torch::Tensor loaded = load_idx_images(dir / "images");
  EXPECT_EQ(loaded.dtype(), torch::kUInt8);
  EXPECT_EQ(loaded.sizes(), images.sizes());
  EXPECT_TRUE(loaded.is_contiguous());
  EXPECT_TRUE(torch::equal(loaded, images));
}

TEST(IdxFormat, LabelsRoundTrip) {
  TempDir dir;
  const torch::Tensor labels = torch::tensor({3, 0, 9, 9, 1}, torch::kInt64);
  testdata::write_bytes(dir / "labels", testdata::idx_labels_bytes(labels));
  const torch::Tensor loaded = load_idx_labels(dir / "labels", 10);
  EXPECT_EQ(loaded.dtype(), torch::kInt64);
  EXPECT_TRUE(torch::equal(loaded, labels));
}

TEST(IdxFormat, GzRoundTrip) {
  if (!TUTORIAL_WITH_ZLIB) GTEST_SKIP() << "built without zlib";
  TempDir dir;
  const torch::Tensor images = testdata::random_images(4, 1, 6, 6);
  testdata::write_gzip(dir / "images.gz", testdata::idx_images_bytes(images));
  EXPECT_TRUE(torch::equal(load_idx_images(dir / "images.gz"), images));
}

TEST(IdxFormat, LoadsBothSplitsOfRawFolder) {
  TempDir dir;
  write_idx_folder(dir, 20, /*gz=*/false);
  const ImageDataset train =
      load_idx_split(dir.path().string(), Split::kTrain, fashion_mnist_class_names());
  const ImageDataset test =
      load_idx_split(dir.path().string(), Split::kTest, fashion_mnist_class_names());
  EXPECT_EQ(train.images.sizes(), (std::vector<int64_t>{20, 1, 28, 28}));
  EXPECT_EQ(test.images.sizes(), (std::vector<int64_t>{10, 1, 28, 28}));
  EXPECT_TRUE(torch::equal(train.images, testdata::random_images(20, 1, 28, 28, 1)));
  EXPECT_TRUE(torch::equal(test.labels, some_labels(10)));
  EXPECT_EQ(train.num_classes(), 10);
  EXPECT_EQ(train.class_names[9], "Ankle boot");
}

TEST(IdxFormat, LoadsGzFolder) {
  if (!TUTORIAL_WITH_ZLIB) GTEST_SKIP() << "built without zlib";
  TempDir dir;
  write_idx_folder(dir, 12, /*gz=*/true);
  const ImageDataset train =
      load_idx_split(dir.path().string(), Split::kTrain, numbered_class_names(10));
  EXPECT_EQ(train.size(), 12);
  EXPECT_TRUE(torch::equal(train.images, testdata::random_images(12, 1, 28, 28, 1)));
}

TEST(IdxFormat, PrefersRawFileOverGz) {
  if (!TUTORIAL_WITH_ZLIB) GTEST_SKIP() << "built without zlib";
  TempDir dir;
  testdata::write_bytes(dir / "x-idx3-ubyte", {1});
  testdata::write_gzip(dir / "x-idx3-ubyte.gz", {2});
  EXPECT_EQ(find_idx_file(dir.path().string(), "x-idx3-ubyte"), dir / "x-idx3-ubyte");
  std::filesystem::remove(dir / "x-idx3-ubyte");
  EXPECT_EQ(find_idx_file(dir.path().string(), "x-idx3-ubyte"), dir / "x-idx3-ubyte.gz");
}

TEST(IdxFormat, MissingFileNamesIt) {
  TempDir dir;
  write_idx_folder(dir, 4, /*gz=*/false);
  std::filesystem::remove(dir / "t10k-labels-idx1-ubyte");
  EXPECT_TRUE(throws_user_error(
      [&] { load_idx_split(dir.path().string(), Split::kTest, numbered_class_names(10)); },
      {dir / "t10k-labels-idx1-ubyte", "file not found"}));
}

TEST(IdxFormat, TruncatedImagesNamePath) {
  TempDir dir;
  std::vector<uint8_t> bytes = testdata::idx_images_bytes(testdata::random_images(5, 1, 4, 4));
  bytes.resize(bytes.size() - 3);
  testdata::write_bytes(dir / "images", bytes);
  EXPECT_TRUE(throws_user_error([&] { load_idx_images(dir / "images"); },
                                {dir / "images", "truncated", "declares 5 images"}));
}

TEST(IdxFormat, TruncatedHeaderNamesPath) {
  TempDir dir;
  testdata::write_bytes(dir / "labels", {0, 0, 8, 1, 0});
  EXPECT_TRUE(throws_user_error([&] { load_idx_labels(dir / "labels", 10); },
                                {dir / "labels", "too short for an IDX labels header"}));
}

TEST(IdxFormat, TrailingBytesNamePath) {
  TempDir dir;
  std::vector<uint8_t> bytes = testdata::idx_labels_bytes(some_labels(6));
  bytes.push_back(0);
  bytes.push_back(0);
  testdata::write_bytes(dir / "labels", bytes);
  EXPECT_TRUE(throws_user_error([&] { load_idx_labels(dir / "labels", 10); },
                                {dir / "labels", "2 unexpected trailing bytes"}));
}

TEST(IdxFormat, WrongMagicNamesBothNumbers) {
  TempDir dir;
  testdata::write_bytes(dir / "train-images-idx3-ubyte",
                        testdata::idx_labels_bytes(some_labels(6)));
  EXPECT_TRUE(
      throws_user_error([&] { load_idx_images(dir / "train-images-idx3-ubyte"); },
                        {dir / "train-images-idx3-ubyte",
                         "wrong magic number 0x00000801 (expected 0x00000803 for IDX images)"}));
}

TEST(IdxFormat, LabelOutOfRangeNamesSample) {
  TempDir dir;
  testdata::write_bytes(dir / "labels",
                        testdata::idx_labels_bytes(torch::tensor({1, 2, 3, 10}, torch::kInt64)));
  EXPECT_TRUE(throws_user_error([&] { load_idx_labels(dir / "labels", 10); },
                                {dir / "labels", "label 10 of sample 3 is out of range"}));
}

TEST(IdxFormat, ZeroImagesIsAnError) {
  TempDir dir;
  testdata::write_bytes(dir / "images",
                        testdata::idx_images_bytes(testdata::random_images(0, 1, 4, 4)));
  EXPECT_TRUE(throws_user_error([&] { load_idx_images(dir / "images"); },
                                {dir / "images", "declares 0 images"}));
}

TEST(IdxFormat, ImageAndLabelCountsMustAgree) {
  TempDir dir;
  write_idx_folder(dir, 8, /*gz=*/false);
  testdata::write_bytes(dir / "train-labels-idx1-ubyte",
                        testdata::idx_labels_bytes(some_labels(7)));
  EXPECT_TRUE(throws_user_error(
      [&] { load_idx_split(dir.path().string(), Split::kTrain, numbered_class_names(10)); },
      {dir / "train-labels-idx1-ubyte", "holds 7 labels", "holds 8 images"}));
}

TEST(IdxFormat, CorruptGzNamesPath) {
  TempDir dir;
  write_idx_folder(dir, 4, /*gz=*/false);
  std::filesystem::remove(dir / "train-images-idx3-ubyte");
  testdata::write_bytes(dir / "train-images-idx3-ubyte.gz", {0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5});
  const std::string phrase = TUTORIAL_WITH_ZLIB ? "gzip file" : "built without zlib";
  EXPECT_TRUE(throws_user_error(
      [&] { load_idx_split(dir.path().string(), Split::kTrain, numbered_class_names(10)); },
      {dir / "train-images-idx3-ubyte.gz", phrase}));
}

}  // namespace
}  // namespace tutorial
