#include "build_config.h"
#include "data/file_bytes.h"
#include "test_files.h"
#include "user_error_assertions.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

namespace tutorial {
namespace {

using testdata::TempDir;
using testdata::throws_user_error;
namespace fs = std::filesystem;

const std::vector<uint8_t> kSample = {0, 1, 2, 3, 250, 251, 252, 253, 254, 255};

#define REQUIRE_ZLIB() \
  if (!TUTORIAL_WITH_ZLIB) GTEST_SKIP() << "built without zlib"

TEST(FileBytes, ReadsRawFile) {
  TempDir dir;
  testdata::write_bytes(dir / "raw.bin", kSample);
  EXPECT_EQ(read_file_bytes(dir / "raw.bin"), kSample);
  EXPECT_EQ(read_raw_file_bytes(dir / "raw.bin"), kSample);
}

TEST(FileBytes, ReadsEmptyFile) {
  TempDir dir;
  testdata::write_bytes(dir / "empty.bin", {});
  EXPECT_TRUE(read_file_bytes(dir / "empty.bin").empty());
}

TEST(FileBytes, MissingFileNamesPath) {
  TempDir dir;
  EXPECT_TRUE(throws_user_error([&] { read_file_bytes(dir / "nope.bin"); },
                                {dir / "nope.bin", "file not found"}));
}

TEST(FileBytes, DirectoryIsNotAFile) {
  TempDir dir;
  EXPECT_TRUE(throws_user_error([&] { read_file_bytes(dir.path().string()); },
                                {dir.path().string(), "is a directory"}));
}

TEST(FileBytes, UnreadableFileNamesPath) {
  if (::geteuid() == 0) GTEST_SKIP() << "running as root, which can read any file";
  TempDir dir;
  testdata::write_bytes(dir / "secret.bin", kSample);
  fs::permissions(dir / "secret.bin", fs::perms::none);
  EXPECT_TRUE(throws_user_error([&] { read_file_bytes(dir / "secret.bin"); },
                                {dir / "secret.bin", "cannot open"}));
}

TEST(FileBytes, DecompressesGzByName) {
  REQUIRE_ZLIB();
  TempDir dir;
  testdata::write_gzip(dir / "data.bin.gz", kSample);
  EXPECT_EQ(read_file_bytes(dir / "data.bin.gz"), kSample);
  EXPECT_NE(read_raw_file_bytes(dir / "data.bin.gz"), kSample);
}

TEST(FileBytes, DecompressesGzByMagicWithoutSuffix) {
  REQUIRE_ZLIB();
  TempDir dir;
  testdata::write_bytes(dir / "data.bin", testdata::gzip_bytes(kSample));
  EXPECT_EQ(read_file_bytes(dir / "data.bin"), kSample);
}

TEST(FileBytes, DecompressesEmptyGz) {
  REQUIRE_ZLIB();
  TempDir dir;
  testdata::write_gzip(dir / "empty.gz", {});
  EXPECT_TRUE(read_file_bytes(dir / "empty.gz").empty());
}

TEST(FileBytes, JoinsConcatenatedGzipMembers) {
  REQUIRE_ZLIB();
  TempDir dir;
  std::vector<uint8_t> joined = testdata::gzip_bytes({1, 2, 3});
  const std::vector<uint8_t> second = testdata::gzip_bytes({4, 5});
  joined.insert(joined.end(), second.begin(), second.end());
  testdata::write_bytes(dir / "joined.gz", joined);
  EXPECT_EQ(read_file_bytes(dir / "joined.gz"), (std::vector<uint8_t>{1, 2, 3, 4, 5}));
}

TEST(FileBytes, DecompressesHighlyCompressedData) {
  // Compresses about 1000:1, far beyond the first output buffer guess.
  REQUIRE_ZLIB();
  TempDir dir;
  std::vector<uint8_t> zeros(20'000'000, 0);
  zeros.back() = 7;
  testdata::write_gzip(dir / "zeros.gz", zeros);
  EXPECT_EQ(read_file_bytes(dir / "zeros.gz"), zeros);
}

TEST(FileBytes, GarbageNamedGzIsNotGzip) {
  REQUIRE_ZLIB();
  TempDir dir;
  testdata::write_bytes(dir / "fake.gz", kSample);
  EXPECT_TRUE(throws_user_error([&] { read_file_bytes(dir / "fake.gz"); },
                                {dir / "fake.gz", "not a gzip file"}));
}

TEST(FileBytes, CorruptGzDataNamesPath) {
  REQUIRE_ZLIB();
  TempDir dir;
  std::vector<uint8_t> bytes = testdata::gzip_bytes(std::vector<uint8_t>(1000, 42));
  for (size_t i = 10; i < bytes.size(); ++i) bytes[i] = 0xff;  // keep the header, ruin the rest
  testdata::write_bytes(dir / "corrupt.gz", bytes);
  EXPECT_TRUE(throws_user_error([&] { read_file_bytes(dir / "corrupt.gz"); },
                                {dir / "corrupt.gz", "corrupt gzip file"}));
}

TEST(FileBytes, TruncatedGzNamesPath) {
  REQUIRE_ZLIB();
  TempDir dir;
  const std::vector<uint8_t> data =
      testdata::idx_images_bytes(testdata::random_images(20, 1, 8, 8));
  std::vector<uint8_t> bytes = testdata::gzip_bytes(data);
  bytes.resize(bytes.size() / 2);
  testdata::write_bytes(dir / "short.gz", bytes);
  EXPECT_TRUE(throws_user_error([&] { read_file_bytes(dir / "short.gz"); },
                                {dir / "short.gz", "truncated gzip file"}));
}

TEST(FileBytes, TrailingGarbageAfterGzNamesPath) {
  REQUIRE_ZLIB();
  TempDir dir;
  std::vector<uint8_t> bytes = testdata::gzip_bytes(kSample);
  bytes.push_back(0x42);
  testdata::write_bytes(dir / "trailing.gz", bytes);
  EXPECT_TRUE(throws_user_error([&] { read_file_bytes(dir / "trailing.gz"); },
                                {dir / "trailing.gz", "after the end of the stream"}));
}

TEST(FileBytes, WithoutZlibGzIsRejectedClearly) {
  if (TUTORIAL_WITH_ZLIB) GTEST_SKIP() << "built with zlib";
  TempDir dir;
  testdata::write_bytes(dir / "data.gz", {0x1f, 0x8b, 8, 0});
  EXPECT_TRUE(throws_user_error([&] { read_file_bytes(dir / "data.gz"); },
                                {dir / "data.gz", "built without zlib"}));
}

}  // namespace
}  // namespace tutorial
