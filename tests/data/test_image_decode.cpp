#include "build_config.h"
#include "data/image_decode.h"
#include "test_files.h"
#include "user_error_assertions.h"

#include <gtest/gtest.h>

namespace tutorial {
namespace {

using testdata::TempDir;
using testdata::throws_user_error;

#define REQUIRE_PNG() \
  if (!TUTORIAL_WITH_PNG) GTEST_SKIP() << "built without libpng"
#define REQUIRE_JPEG() \
  if (!TUTORIAL_WITH_JPEG) GTEST_SKIP() << "built without libjpeg"

// PNG color types, as the specification numbers them.
constexpr int kGray = 0, kPalette = 3, kGrayAlpha = 4, kRgba = 6;

double mean_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().mean().item<double>();
}

TEST(ImageDecode, DetectsFormatFromMagicBytes) {
  EXPECT_EQ(detect_image_format({0xff, 0xd8, 0xff, 0xe0}), ImageFormat::kJpeg);
  EXPECT_EQ(detect_image_format({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0}),
            ImageFormat::kPng);
  EXPECT_EQ(detect_image_format({'G', 'I', 'F', '8'}), ImageFormat::kUnknown);
  EXPECT_EQ(detect_image_format({}), ImageFormat::kUnknown);
}

TEST(ImageDecode, PngGrayExact) {
  REQUIRE_PNG();
  const torch::Tensor image = testdata::random_images(1, 1, 7, 9)[0];
  const torch::Tensor decoded = decode_image(testdata::png_bytes(image), "gray.png");
  EXPECT_EQ(decoded.sizes(), (std::vector<int64_t>{1, 7, 9}));
  EXPECT_TRUE(decoded.is_contiguous());
  EXPECT_TRUE(torch::equal(decoded, image));
}

TEST(ImageDecode, PngRgbExact) {
  REQUIRE_PNG();
  const torch::Tensor image = testdata::random_images(1, 3, 5, 11)[0];
  const torch::Tensor decoded = decode_image(testdata::png_bytes(image), "rgb.png");
  EXPECT_EQ(decoded.sizes(), (std::vector<int64_t>{3, 5, 11}));
  EXPECT_TRUE(decoded.is_contiguous());
  EXPECT_TRUE(torch::equal(decoded, image));
}

TEST(ImageDecode, PngRgbaDropsAlpha) {
  REQUIRE_PNG();
  testdata::PngImage png{2, 1, kRgba, 8, {10, 20, 30, 0, 40, 50, 60, 255}, {}, {}};
  const torch::Tensor decoded = decode_image(testdata::png_bytes(png), "rgba.png");
  EXPECT_TRUE(torch::equal(
      decoded, torch::tensor({10, 40, 20, 50, 30, 60}, torch::kUInt8).reshape({3, 1, 2})));
}

TEST(ImageDecode, PngGrayAlphaDropsAlpha) {
  REQUIRE_PNG();
  testdata::PngImage png{3, 1, kGrayAlpha, 8, {7, 0, 8, 100, 9, 255}, {}, {}};
  const torch::Tensor decoded = decode_image(testdata::png_bytes(png), "ga.png");
  EXPECT_TRUE(torch::equal(decoded, torch::tensor({7, 8, 9}, torch::kUInt8).reshape({1, 1, 3})));
}

TEST(ImageDecode, Png16BitGrayScalesTo8Bit) {
  REQUIRE_PNG();
  // Big-endian 16-bit samples v * 257 are exactly v in 8 bits.
  testdata::PngImage png{2, 1, kGray, 16, {0x05, 0x05, 0xfa, 0xfa}, {}, {}};
  const torch::Tensor decoded = decode_image(testdata::png_bytes(png), "g16.png");
  EXPECT_TRUE(torch::equal(decoded, torch::tensor({5, 250}, torch::kUInt8).reshape({1, 1, 2})));
}

TEST(ImageDecode, PngLowBitDepthGrayExpands) {
  REQUIRE_PNG();
  testdata::PngImage png{4, 1, kGray, 2, {0b00011011}, {}, {}};  // levels 0, 1, 2, 3
  const torch::Tensor decoded = decode_image(testdata::png_bytes(png), "g2.png");
  EXPECT_TRUE(
      torch::equal(decoded, torch::tensor({0, 85, 170, 255}, torch::kUInt8).reshape({1, 1, 4})));
}

TEST(ImageDecode, PngPaletteWithTransparencyBecomesRgb) {
  REQUIRE_PNG();
  testdata::PngImage png{3, 1, kPalette, 8, {1, 0, 1}, {1, 2, 3, 200, 100, 50}, {0, 128}};
  const torch::Tensor decoded = decode_image(testdata::png_bytes(png), "pal.png");
  EXPECT_TRUE(torch::equal(
      decoded,
      torch::tensor({200, 1, 200, 100, 2, 100, 50, 3, 50}, torch::kUInt8).reshape({3, 1, 3})));
}

TEST(ImageDecode, JpegRgbApproximately) {
  REQUIRE_JPEG();
  const torch::Tensor image = testdata::smooth_image(3, 32, 40);
  const torch::Tensor decoded = decode_image(testdata::jpeg_bytes(image, 95), "rgb.jpg");
  ASSERT_EQ(decoded.sizes(), (std::vector<int64_t>{3, 32, 40}));
  EXPECT_TRUE(decoded.is_contiguous());
  EXPECT_LT(mean_abs_diff(decoded, image), 2.0);
}

TEST(ImageDecode, JpegGrayApproximately) {
  REQUIRE_JPEG();
  const torch::Tensor image = testdata::smooth_image(1, 28, 28);
  const torch::Tensor decoded = decode_image(testdata::jpeg_bytes(image, 95), "gray.jpg");
  ASSERT_EQ(decoded.sizes(), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_LT(mean_abs_diff(decoded, image), 2.0);
}

TEST(ImageDecode, TrustsContentNotExtension) {
  REQUIRE_PNG();
  TempDir dir;
  const torch::Tensor image = testdata::random_images(1, 3, 4, 4)[0];
  testdata::write_bytes(dir / "really_a_png.jpg", testdata::png_bytes(image));
  EXPECT_TRUE(torch::equal(decode_image_file(dir / "really_a_png.jpg"), image));
}

TEST(ImageDecode, GarbageIsNotAnImage) {
  TempDir dir;
  testdata::write_bytes(dir / "garbage.jpg", {'h', 'e', 'l', 'l', 'o', '!'});
  EXPECT_TRUE(throws_user_error([&] { decode_image_file(dir / "garbage.jpg"); },
                                {dir / "garbage.jpg", "not a JPEG or PNG image", "68 65 6c 6c"}));
}

TEST(ImageDecode, EmptyFileIsNotAnImage) {
  TempDir dir;
  testdata::write_bytes(dir / "empty.png", {});
  EXPECT_TRUE(throws_user_error([&] { decode_image_file(dir / "empty.png"); },
                                {dir / "empty.png", "empty file"}));
}

TEST(ImageDecode, MissingFileNamesPath) {
  TempDir dir;
  EXPECT_TRUE(throws_user_error([&] { decode_image_file(dir / "none.png"); },
                                {dir / "none.png", "file not found"}));
}

TEST(ImageDecode, CorruptJpegIsUserError) {
  REQUIRE_JPEG();
  std::vector<uint8_t> bytes = testdata::jpeg_bytes(testdata::smooth_image(3, 16, 16));
  for (size_t i = 3; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 37);
  EXPECT_TRUE(throws_user_error([&] { decode_image(bytes, "/d/bad.jpg"); },
                                {"/d/bad.jpg", "corrupt or unsupported JPEG"}));
}

TEST(ImageDecode, TruncatedJpegIsUserError) {
  REQUIRE_JPEG();
  std::vector<uint8_t> bytes = testdata::jpeg_bytes(testdata::random_images(1, 3, 64, 64)[0]);
  bytes.resize(bytes.size() * 2 / 3);
  EXPECT_TRUE(throws_user_error([&] { decode_image(bytes, "/d/short.jpg"); },
                                {"/d/short.jpg", "truncated JPEG"}));
}

TEST(ImageDecode, JpegHeaderOnlyIsUserError) {
  REQUIRE_JPEG();
  EXPECT_TRUE(throws_user_error(
      [&] {
        decode_image({0xff, 0xd8, 0xff, 0xe0, 0, 0x10}, "/d/h.jpg");
      },
      {"/d/h.jpg", "JPEG"}));
}

TEST(ImageDecode, TruncatedPngIsUserError) {
  REQUIRE_PNG();
  std::vector<uint8_t> bytes = testdata::png_bytes(testdata::random_images(1, 3, 16, 16)[0]);
  bytes.resize(bytes.size() / 2);
  EXPECT_TRUE(throws_user_error([&] { decode_image(bytes, "/d/short.png"); },
                                {"/d/short.png", "corrupt or unsupported PNG"}));
}

TEST(ImageDecode, CorruptPngIsUserError) {
  REQUIRE_PNG();
  std::vector<uint8_t> bytes = testdata::png_bytes(testdata::random_images(1, 1, 16, 16)[0]);
  for (size_t i = 40; i < bytes.size(); ++i) bytes[i] ^= 0x5a;
  EXPECT_TRUE(throws_user_error([&] { decode_image(bytes, "/d/bad.png"); },
                                {"/d/bad.png", "corrupt or unsupported PNG"}));
}

TEST(ImageDecode, WithoutLibjpegJpegIsRejectedClearly) {
  if (TUTORIAL_WITH_JPEG) GTEST_SKIP() << "built with libjpeg";
  EXPECT_TRUE(throws_user_error(
      [&] {
        decode_image({0xff, 0xd8, 0xff, 0xe0}, "/d/x.jpg");
      },
      {"built without libjpeg: cannot decode /d/x.jpg"}));
}

TEST(ImageDecode, WithoutLibpngPngIsRejectedClearly) {
  if (TUTORIAL_WITH_PNG) GTEST_SKIP() << "built with libpng";
  EXPECT_TRUE(throws_user_error(
      [&] {
        decode_image({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, "/d/x.png");
      },
      {"built without libpng: cannot decode /d/x.png"}));
}

}  // namespace
}  // namespace tutorial
