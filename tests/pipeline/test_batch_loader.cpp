// BatchLoader: batches cover the sampler's indices, drop_last, prefetching.
#include "pipeline/batch_loader.h"

#include "core/errors.h"

#include <gtest/gtest.h>

#include <set>

using namespace tutorial;

namespace {

// Sample i: every pixel = i % 256, label = i (so labels identify samples).
ImageDataset numbered_dataset(int64_t n) {
  ImageDataset d;
  d.labels = torch::arange(n, torch::kLong);
  d.images = (d.labels % 256).to(torch::kUInt8).view({n, 1, 1, 1}).expand({n, 1, 4, 4}).contiguous();
  d.class_names.resize(static_cast<size_t>(n));
  return d;
}

std::vector<Batch> drain(BatchLoader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<Batch> batches;
  while (auto b = loader.next()) batches.push_back(*b);
  return batches;
}

}  // namespace

TEST(BatchLoader, VisitsEverySampleOnceInSamplerOrder) {
  auto data = numbered_dataset(103);
  ShardedSampler sampler(103, SamplerOptions().seed(1));
  BatchLoader loader(data, sampler, LoaderOptions(10));
  EXPECT_EQ(loader.num_batches(), 11);
  auto batches = drain(loader, 0);
  ASSERT_EQ(batches.size(), 11u);
  EXPECT_EQ(batches.back().labels.size(0), 3);  // the last, partial batch
  std::vector<torch::Tensor> labels;
  for (auto& b : batches) {
    labels.push_back(b.labels);
    // Images travel with their labels.
    EXPECT_TRUE(torch::equal(b.images.select(3, 0).select(2, 0).select(1, 0).to(torch::kLong),
                             b.labels % 256));
  }
  EXPECT_TRUE(torch::equal(torch::cat(labels), sampler.indices()));
}

TEST(BatchLoader, DropLastDropsThePartialBatch) {
  auto data = numbered_dataset(103);
  BatchLoader loader(data, ShardedSampler(103, SamplerOptions()), LoaderOptions(10).drop_last(true));
  EXPECT_EQ(loader.num_batches(), 10);
  auto batches = drain(loader, 0);
  ASSERT_EQ(batches.size(), 10u);
  for (auto& b : batches) EXPECT_EQ(b.labels.size(0), 10);
}

TEST(BatchLoader, PrefetchingGivesTheSameBatchesAsNone) {
  auto data = numbered_dataset(257);
  ShardedSampler sampler(257, SamplerOptions().seed(4));
  BatchLoader eager(data, sampler, LoaderOptions(16).prefetch_batches(0));
  BatchLoader prefetched(data, sampler, LoaderOptions(16).prefetch_batches(3));
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    auto a = drain(eager, epoch), b = drain(prefetched, epoch);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(torch::equal(a[i].labels, b[i].labels));
      EXPECT_TRUE(torch::equal(a[i].images, b[i].images));
    }
  }
}

TEST(BatchLoader, EpochsReshuffle) {
  auto data = numbered_dataset(64);
  BatchLoader loader(data, ShardedSampler(64, SamplerOptions()), LoaderOptions(64));
  auto first = drain(loader, 0), second = drain(loader, 1);
  EXPECT_FALSE(torch::equal(first[0].labels, second[0].labels));
}

TEST(BatchLoader, AbandoningAnEpochOrTheLoaderDoesNotHang) {
  auto data = numbered_dataset(1000);
  {
    BatchLoader loader(data, ShardedSampler(1000, SamplerOptions()), LoaderOptions(8));
    loader.start_epoch(0);
    ASSERT_TRUE(loader.next());
    loader.start_epoch(1);  // abandons epoch 0 with its producer mid-way
    int64_t count = 0;
    while (loader.next()) ++count;
    EXPECT_EQ(count, loader.num_batches());
    loader.start_epoch(2);
    ASSERT_TRUE(loader.next());
  }  // destroyed mid-epoch: must join its producer thread
  SUCCEED();
}

TEST(BatchLoader, ShardsForRanks) {
  auto data = numbered_dataset(100);
  std::set<int64_t> seen;
  for (int64_t rank = 0; rank < 2; ++rank) {
    BatchLoader loader(data, ShardedSampler(100, SamplerOptions().seed(3).rank(rank).world_size(2)),
                       LoaderOptions(7));
    EXPECT_EQ(loader.num_samples(), 50);
    for (auto& b : drain(loader, 0)) {
      for (int64_t i = 0; i < b.labels.size(0); ++i) seen.insert(b.labels[i].item<int64_t>());
    }
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(BatchLoader, RejectsBadOptions) {
  auto data = numbered_dataset(10);
  ShardedSampler sampler(10, SamplerOptions());
  EXPECT_THROW(BatchLoader(data, sampler, LoaderOptions(0)), UserError);
  EXPECT_THROW(BatchLoader(data, sampler, LoaderOptions(11).drop_last(true)), UserError);
  EXPECT_THROW(BatchLoader(data, sampler, LoaderOptions(2).prefetch_batches(-1)),
               UserError);
}

TEST(BatchLoader, GatherRowsIsIndexSelect) {
  auto images = torch::randint(0, 256, {10, 3, 4, 5}).to(torch::kUInt8);
  auto labels = torch::randint(0, 10, {10}, torch::kLong);
  auto indices = torch::tensor({7, 0, 9, 7, 3}, torch::kLong);
  EXPECT_TRUE(torch::equal(gather_rows(images, indices, false), images.index_select(0, indices)));
  EXPECT_TRUE(torch::equal(gather_rows(labels, indices, false), labels.index_select(0, indices)));
  auto strided = images.transpose(2, 3);  // not contiguous: index_select does it
  EXPECT_TRUE(torch::equal(gather_rows(strided, indices, false), strided.index_select(0, indices)));
  EXPECT_EQ(gather_rows(images, torch::zeros({0}, torch::kLong), false).size(0), 0);
  EXPECT_THROW(gather_rows(images, torch::tensor({10}, torch::kLong), false), std::out_of_range);
}
