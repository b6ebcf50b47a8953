#include "build_config.h"
#include "data/image_folder.h"
#include "test_files.h"
#include "user_error_assertions.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace tutorial {
namespace {

using testdata::TempDir;
using testdata::throws_user_error;
namespace fs = std::filesystem;

#define REQUIRE_PNG() \
  if (!TUTORIAL_WITH_PNG) GTEST_SKIP() << "built without libpng"

torch::Tensor image_with_seed(uint64_t seed, int64_t channels = 3, int64_t side = 8) {
  return testdata::random_images(1, channels, side, side, seed)[0];
}

// Content for images that a test expects to fail before any decoding.
const std::vector<uint8_t> kNeverDecoded = {'?'};

void write_png(const fs::path& path, const torch::Tensor& chw) {
  testdata::write_bytes(path, testdata::png_bytes(chw));
}

TEST(ImageFolder, RecognizesImageExtensionsInAnyCase) {
  EXPECT_TRUE(is_image_file_name("a.jpg"));
  EXPECT_TRUE(is_image_file_name("a.JPEG"));
  EXPECT_TRUE(is_image_file_name("a.b.Png"));
  EXPECT_FALSE(is_image_file_name("a.gif"));
  EXPECT_FALSE(is_image_file_name("jpg"));
  EXPECT_FALSE(is_image_file_name("a.jpg.txt"));
}

TEST(ImageFolder, LoadsClassesAndFilesSortedByName) {
  REQUIRE_PNG();
  TempDir dir;
  // Written out of order; a non-image file and hidden entries are ignored.
  write_png(dir.path() / "zebra" / "b.png", image_with_seed(5));
  write_png(dir.path() / "zebra" / "a.PNG", image_with_seed(4));
  write_png(dir.path() / "cat" / "only.png", image_with_seed(1));
  write_png(dir.path() / "dog" / "2.png", image_with_seed(3));
  write_png(dir.path() / "dog" / "1.png", image_with_seed(2));
  testdata::write_bytes(dir.path() / "dog" / "notes.txt", {'x'});
  write_png(dir.path() / "dog" / ".hidden.png", image_with_seed(9, 1, 3));
  write_png(dir.path() / ".cache" / "x.png", image_with_seed(9, 1, 3));

  EXPECT_EQ(list_class_folders(dir.path().string()),
            (std::vector<std::string>{"cat", "dog", "zebra"}));
  const ImageDataset data = load_image_folder(dir.path().string());
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"cat", "dog", "zebra"}));
  EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{5, 3, 8, 8}));
  EXPECT_TRUE(data.images.is_contiguous());
  EXPECT_TRUE(torch::equal(data.labels, torch::tensor({0, 1, 1, 2, 2}, torch::kInt64)));
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(torch::equal(data.images[i], image_with_seed(static_cast<uint64_t>(i + 1))))
        << "image " << i;
  }
}

TEST(ImageFolder, LoadsJpegs) {
  if (!TUTORIAL_WITH_JPEG) GTEST_SKIP() << "built without libjpeg";
  TempDir dir;
  const torch::Tensor image = testdata::smooth_image(3, 16, 16);
  testdata::write_bytes(dir.path() / "a" / "x.jpg", testdata::jpeg_bytes(image));
  testdata::write_bytes(dir.path() / "b" / "y.Jpeg", testdata::jpeg_bytes(image));
  const ImageDataset data = load_image_folder(dir.path().string());
  EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{2, 3, 16, 16}));
  EXPECT_TRUE(torch::equal(data.labels, torch::tensor({0, 1}, torch::kInt64)));
}

TEST(ImageFolder, ManyImagesDecodeInParallelInOrder) {
  REQUIRE_PNG();
  TempDir dir;
  const int64_t per_class = 150;
  for (int64_t c = 0; c < 2; ++c) {
    for (int64_t i = 0; i < per_class; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "%04d.png", static_cast<int>(i));
      write_png(dir.path() / ("class" + std::to_string(c)) / name,
                image_with_seed(static_cast<uint64_t>(c * per_class + i), 1, 6));
    }
  }
  const ImageDataset data = load_image_folder(dir.path().string());
  ASSERT_EQ(data.size(), 2 * per_class);
  for (int64_t i = 0; i < data.size(); ++i) {
    ASSERT_TRUE(torch::equal(data.images[i], image_with_seed(static_cast<uint64_t>(i), 1, 6))) << i;
    ASSERT_EQ(data.labels[i].item<int64_t>(), i / per_class);
  }
}

TEST(ImageFolder, ReportsFirstBadFileAmongMany) {
  REQUIRE_PNG();
  TempDir dir;
  for (int i = 0; i < 400; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%04d.png", i);
    const fs::path path = dir.path() / "only" / name;
    if (i == 170 || i == 330) {
      testdata::write_bytes(path, {'b', 'a', 'd'});
    } else {
      write_png(path, image_with_seed(static_cast<uint64_t>(i), 1, 4));
    }
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    EXPECT_TRUE(
        throws_user_error([&] { load_image_folder(dir.path().string()); },
                          {(dir.path() / "only" / "0170.png").string(), "not a JPEG or PNG"}));
  }
}

TEST(ImageFolder, MixedSizesNameFileAndBothSizes) {
  REQUIRE_PNG();
  TempDir dir;
  write_png(dir.path() / "a" / "1.png", image_with_seed(1, 3, 8));
  write_png(dir.path() / "b" / "1.png", image_with_seed(2, 3, 8));
  write_png(dir.path() / "b" / "2.png", image_with_seed(3, 1, 8));
  EXPECT_TRUE(throws_user_error([&] { load_image_folder(dir.path().string()); },
                                {dir / "b/2.png", "1x8x8", "3x8x8", dir / "a/1.png", "same size"}));
}

TEST(ImageFolder, NonexistentRootNamesIt) {
  TempDir dir;
  EXPECT_TRUE(throws_user_error([&] { load_image_folder(dir / "missing"); },
                                {dir / "missing", "does not exist"}));
}

TEST(ImageFolder, RootThatIsAFileNamesIt) {
  TempDir dir;
  testdata::write_bytes(dir / "file", {1});
  EXPECT_TRUE(throws_user_error([&] { load_image_folder(dir / "file"); },
                                {dir / "file", "is not a directory"}));
}

TEST(ImageFolder, EmptyRootHasNoClassFolders) {
  TempDir dir;
  testdata::write_bytes(dir / "stray.png", {1});  // files directly in root are not classes
  EXPECT_TRUE(throws_user_error([&] { load_image_folder(dir.path().string()); },
                                {dir.path().string(), "no class folders"}));
}

TEST(ImageFolder, ClassWithoutImagesNamesIt) {
  TempDir dir;
  testdata::write_bytes(dir.path() / "a" / "1.png", kNeverDecoded);
  testdata::write_bytes(dir.path() / "b" / "readme.txt", {'x'});
  EXPECT_TRUE(throws_user_error([&] { load_image_folder(dir.path().string()); },
                                {dir / "b", "holds no .jpg, .jpeg or .png images"}));
}

TEST(ImageFolder, UndecodableImageNamesIt) {
  TempDir dir;
  testdata::write_bytes(dir.path() / "a" / "broken.jpg", {'n', 'o', 'p', 'e', 0, 1, 2});
  EXPECT_TRUE(throws_user_error([&] { load_image_folder(dir.path().string()); },
                                {dir / "a/broken.jpg", "not a JPEG or PNG image"}));
}

TEST(ImageFolder, ExpectedClassesMustAllBePresent) {
  TempDir dir;
  testdata::write_bytes(dir.path() / "a" / "1.png", kNeverDecoded);
  EXPECT_TRUE(throws_user_error(
      [&] {
        load_image_folder(dir.path().string(), {"a", "b"});
      },
      {dir.path().string(), "has no folder for class 'b'"}));
}

TEST(ImageFolder, UnexpectedClassFolderNamesIt) {
  TempDir dir;
  testdata::write_bytes(dir.path() / "a" / "1.png", kNeverDecoded);
  testdata::write_bytes(dir.path() / "c" / "1.png", kNeverDecoded);
  EXPECT_TRUE(throws_user_error([&] { load_image_folder(dir.path().string(), {"a"}); },
                                {dir / "c", "is not one of the 1 expected classes"}));
}

}  // namespace
}  // namespace tutorial
