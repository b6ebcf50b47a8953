// Batched augmentation and normalisation.
#include "pipeline/transforms.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/padding.h>
#include <gtest/gtest.h>

#include <set>

using namespace tutorial;

namespace {

at::Generator generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// [B, C, H, W] images whose pixels are distinct and positive: 1 + flat index.
torch::Tensor distinct_images(int64_t b, int64_t c, int64_t h, int64_t w) {
  return torch::arange(1, 1 + b * c * h * w, torch::kFloat).view({b, c, h, w});
}

}  // namespace

TEST(Transforms, ToUnitFloatScalesBytes) {
  auto bytes = torch::tensor({0, 51, 255}, torch::kUInt8).view({1, 1, 1, 3});
  auto x = to_unit_float(bytes);
  EXPECT_EQ(x.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(x.flatten(), torch::tensor({0.0f, 0.2f, 1.0f})));
}

TEST(Transforms, RandomCropIsATranslationOfThePaddedImage) {
  auto images = distinct_images(64, 3, 8, 8);
  auto gen = generator(0);
  auto cropped = random_crop(images, 4, gen);
  ASSERT_EQ(cropped.sizes(), images.sizes());
  namespace F = torch::nn::functional;
  auto padded = F::pad(images, F::PadFuncOptions({4, 4, 4, 4}));
  std::set<std::pair<int64_t, int64_t>> offsets;
  for (int64_t i = 0; i < 64; ++i) {
    bool found = false;
    for (int64_t dy = 0; dy <= 8 && !found; ++dy) {
      for (int64_t dx = 0; dx <= 8 && !found; ++dx) {
        if (torch::equal(cropped[i], padded[i].slice(1, dy, dy + 8).slice(2, dx, dx + 8))) {
          found = true;
          offsets.insert({dy, dx});
        }
      }
    }
    EXPECT_TRUE(found) << "image " << i << " is not a window of its padded self";
  }
  EXPECT_GT(offsets.size(), 20u);  // offsets vary across the batch
}

TEST(Transforms, FlipFlipsAboutHalfAndOnlyLeftRight) {
  auto images = distinct_images(1000, 1, 2, 3);
  auto gen = generator(1);
  auto out = random_horizontal_flip(images, gen);
  int64_t flipped = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    if (torch::equal(out[i], images[i].flip({2}))) {
      ++flipped;
    } else {
      EXPECT_TRUE(torch::equal(out[i], images[i]));
    }
  }
  EXPECT_GT(flipped, 420);
  EXPECT_LT(flipped, 580);
}

TEST(Transforms, SameSeedSameAugmentation) {
  auto images = torch::randint(0, 256, {16, 3, 32, 32}).to(torch::kUInt8);
  BatchTransform transform{true, 4, {0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}};
  auto g1 = generator(7), g2 = generator(7);
  EXPECT_TRUE(torch::equal(transform(images, g1), transform(images, g2)));
}

TEST(Transforms, NormalizeUsesPerChannelStatistics) {
  auto images = torch::stack({torch::full({2, 2}, 0.5), torch::full({2, 2}, 1.0)}).unsqueeze(0);
  auto x = normalize(images, {0.5, 0.0}, {1.0, 0.5});
  EXPECT_TRUE(torch::allclose(x[0][0], torch::zeros({2, 2})));
  EXPECT_TRUE(torch::allclose(x[0][1], torch::full({2, 2}, 2.0)));
  EXPECT_ANY_THROW(normalize(images, {0.5}, {1.0}));
}

TEST(Transforms, WithoutAugmentationOrStatsItIsToTensor) {
  auto images = torch::randint(0, 256, {4, 1, 28, 28}).to(torch::kUInt8);
  auto gen = generator(0);
  EXPECT_TRUE(torch::equal(BatchTransform{}(images, gen), to_unit_float(images)));
}

TEST(Transforms, TheFoldedNormalizationEqualsToTensorThenNormalize) {
  auto images = torch::randint(0, 256, {8, 3, 5, 5}).to(torch::kUInt8);
  const std::vector<double> mean{0.49, 0.48, 0.45}, stddev{0.25, 0.24, 0.26};
  auto expected = normalize(to_unit_float(images), mean, stddev);
  auto folded = to_normalized_float(images, unit_float_normalization(mean, stddev, torch::kCPU));
  EXPECT_EQ(folded.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(folded, expected, /*rtol=*/1e-6, /*atol=*/1e-6))
      << (folded - expected).abs().max().item<double>();
  EXPECT_THROW(to_normalized_float(images.slice(1, 0, 2),
                                   unit_float_normalization(mean, stddev, torch::kCPU)),
               std::exception);
}

TEST(Transforms, AugmentingBytesThenNormalizingEqualsAugmentingFloats) {
  // Crop and flip only move pixels, so doing them on the uint8 batch (as
  // BatchTransform does) gives what torchvision's order (ToTensor first) gives.
  auto images = torch::randint(0, 256, {16, 3, 8, 8}).to(torch::kUInt8);
  const std::vector<double> mean{0.5, 0.4, 0.3}, stddev{0.2, 0.25, 0.3};
  BatchTransform transform{true, 4, mean, stddev};
  auto g1 = generator(3), g2 = generator(3);
  auto floats = random_horizontal_flip(random_crop(to_unit_float(images), 4, g1), g1);
  auto expected = normalize(floats, mean, stddev);
  auto actual = transform(images, g2);
  EXPECT_TRUE(torch::allclose(actual, expected, 1e-6, 1e-6))
      << (actual - expected).abs().max().item<double>();
}
