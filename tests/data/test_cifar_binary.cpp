#include "data/cifar_binary.h"
#include "data/class_names.h"
#include "test_files.h"
#include "user_error_assertions.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace tutorial {
namespace {

using testdata::TempDir;
using testdata::throws_user_error;
namespace fs = std::filesystem;

torch::Tensor labels_mod(int64_t n, int64_t modulus, int64_t offset = 0) {
  return (torch::arange(n, torch::kInt64) + offset) % modulus;
}

// CIFAR-10 in `dir`: data_batch_b.bin holds 3 + b images (seed b), test_batch.bin 4.
void write_cifar10(const fs::path& dir) {
  for (int b = 1; b <= 5; ++b) {
    testdata::write_bytes(dir / ("data_batch_" + std::to_string(b) + ".bin"),
                          testdata::cifar10_bytes(testdata::random_images(3 + b, 3, 32, 32, b),
                                                  labels_mod(3 + b, 10, b)));
  }
  testdata::write_bytes(
      dir / "test_batch.bin",
      testdata::cifar10_bytes(testdata::random_images(4, 3, 32, 32, 9), labels_mod(4, 10)));
}

TEST(CifarBinary, Cifar10TrainJoinsBatchesInOrder) {
  TempDir dir;
  write_cifar10(dir.path());
  const ImageDataset train = load_cifar10(dir.path().string(), Split::kTrain);
  std::vector<torch::Tensor> images, labels;
  for (int b = 1; b <= 5; ++b) {
    images.push_back(testdata::random_images(3 + b, 3, 32, 32, b));
    labels.push_back(labels_mod(3 + b, 10, b));
  }
  EXPECT_EQ(train.images.sizes(), (std::vector<int64_t>{30, 3, 32, 32}));
  EXPECT_TRUE(train.images.is_contiguous());
  EXPECT_TRUE(torch::equal(train.images, torch::cat(images)));
  EXPECT_TRUE(torch::equal(train.labels, torch::cat(labels)));
  EXPECT_EQ(train.class_names, cifar10_class_names());
}

TEST(CifarBinary, Cifar10TestFromArchiveSubfolderWithNamesFile) {
  TempDir dir;
  const fs::path nested = dir.path() / "cifar-10-batches-bin";
  write_cifar10(nested);
  testdata::write_bytes(nested / "batches.meta.txt",
                        {'a', '\n', 'b', '\r', '\n', 'c',  '\n', 'd', '\n', 'e',  '\n', 'f', '\n',
                         'g', '\n', 'h', '\n', 'i',  '\n', ' ',  'j', ' ',  '\n', '\n', '\n'});
  const ImageDataset test = load_cifar10(dir.path().string(), Split::kTest);
  EXPECT_TRUE(torch::equal(test.images, testdata::random_images(4, 3, 32, 32, 9)));
  EXPECT_TRUE(torch::equal(test.labels, labels_mod(4, 10)));
  EXPECT_EQ(test.class_names,
            (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}));
}

TEST(CifarBinary, Cifar100UsesFineLabels) {
  TempDir dir;
  const torch::Tensor images = testdata::random_images(6, 3, 32, 32, 5);
  const torch::Tensor coarse = labels_mod(6, 20, 3);
  const torch::Tensor fine = labels_mod(6, 100, 95);
  testdata::write_bytes(dir / "train.bin", testdata::cifar100_bytes(images, coarse, fine));
  const ImageDataset train = load_cifar100(dir.path().string(), Split::kTrain);
  EXPECT_TRUE(torch::equal(train.images, images));
  EXPECT_TRUE(torch::equal(train.labels, fine));
  ASSERT_EQ(train.num_classes(), 100);
  EXPECT_EQ(train.class_names.front(), "apple");
  EXPECT_EQ(train.class_names.back(), "worm");
}

TEST(CifarBinary, Cifar100FromArchiveSubfolderWithNamesFile) {
  TempDir dir;
  const fs::path nested = dir.path() / "cifar-100-binary";
  testdata::write_bytes(nested / "test.bin",
                        testdata::cifar100_bytes(testdata::random_images(2, 3, 32, 32),
                                                 labels_mod(2, 20), labels_mod(2, 100)));
  std::vector<uint8_t> names;
  for (int i = 0; i < 100; ++i) {
    const std::string line = "class" + std::to_string(i) + "\n";
    names.insert(names.end(), line.begin(), line.end());
  }
  testdata::write_bytes(nested / "fine_label_names.txt", names);
  const ImageDataset test = load_cifar100(dir.path().string(), Split::kTest);
  EXPECT_EQ(test.size(), 2);
  EXPECT_EQ(test.class_names[42], "class42");
}

TEST(CifarBinary, StandardCifar100NamesAreSortedAndUnique) {
  const std::vector<std::string> names = cifar100_class_names();
  ASSERT_EQ(names.size(), 100u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

TEST(CifarBinary, MissingBatchNamesIt) {
  TempDir dir;
  write_cifar10(dir.path());
  fs::remove(dir.path() / "data_batch_3.bin");
  EXPECT_TRUE(throws_user_error([&] { load_cifar10(dir.path().string(), Split::kTrain); },
                                {dir / "data_batch_3.bin", "file not found"}));
}

TEST(CifarBinary, MissingCifar100FileNamesIt) {
  TempDir dir;
  EXPECT_TRUE(throws_user_error([&] { load_cifar100(dir.path().string(), Split::kTest); },
                                {dir / "test.bin", "file not found"}));
}

TEST(CifarBinary, TruncatedFileNamesRecordSize) {
  TempDir dir;
  write_cifar10(dir.path());
  std::vector<uint8_t> bytes =
      testdata::cifar10_bytes(testdata::random_images(2, 3, 32, 32), labels_mod(2, 10));
  bytes.pop_back();
  testdata::write_bytes(dir / "test_batch.bin", bytes);
  EXPECT_TRUE(throws_user_error([&] { load_cifar10(dir.path().string(), Split::kTest); },
                                {dir / "test_batch.bin", "multiple of the 3073-byte record size"}));
}

TEST(CifarBinary, EmptyFileIsAnError) {
  TempDir dir;
  testdata::write_bytes(dir / "train.bin", {});
  EXPECT_TRUE(throws_user_error([&] { load_cifar100(dir.path().string(), Split::kTrain); },
                                {dir / "train.bin", "multiple of the 3074-byte record size"}));
}

TEST(CifarBinary, Cifar10LabelOutOfRange) {
  TempDir dir;
  testdata::write_bytes(dir / "test_batch.bin",
                        testdata::cifar10_bytes(testdata::random_images(3, 3, 32, 32),
                                                torch::tensor({0, 10, 1}, torch::kInt64)));
  EXPECT_TRUE(throws_user_error([&] { load_cifar10(dir.path().string(), Split::kTest); },
                                {dir / "test_batch.bin", "label 10 of sample 1 is out of range"}));
}

TEST(CifarBinary, Cifar100FineLabelOutOfRange) {
  TempDir dir;
  testdata::write_bytes(
      dir / "test.bin",
      testdata::cifar100_bytes(testdata::random_images(2, 3, 32, 32), labels_mod(2, 20),
                               torch::tensor({5, 100}, torch::kInt64)));
  EXPECT_TRUE(throws_user_error([&] { load_cifar100(dir.path().string(), Split::kTest); },
                                {dir / "test.bin", "label 100 of sample 1 is out of range"}));
}

TEST(CifarBinary, Cifar100CoarseLabelOutOfRange) {
  TempDir dir;
  testdata::write_bytes(
      dir / "test.bin",
      testdata::cifar100_bytes(testdata::random_images(2, 3, 32, 32),
                               torch::tensor({20, 0}, torch::kInt64), labels_mod(2, 100)));
  EXPECT_TRUE(throws_user_error([&] { load_cifar100(dir.path().string(), Split::kTest); },
                                {dir / "test.bin", "coarse label 20 of sample 0"}));
}

TEST(CifarBinary, WrongNamesFileCountNamesIt) {
  TempDir dir;
  write_cifar10(dir.path());
  testdata::write_bytes(dir / "batches.meta.txt", {'a', '\n', 'b', '\n'});
  EXPECT_TRUE(throws_user_error([&] { load_cifar10(dir.path().string(), Split::kTest); },
                                {dir / "batches.meta.txt", "has 2 class names, expected 10"}));
}

}  // namespace
}  // namespace tutorial
