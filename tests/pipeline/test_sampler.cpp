// ShardedSampler against PyTorch's DistributedSampler, and its invariants.
#include "pytorch_sampler_table.h"
#include "pipeline/sampler.h"

#include "core/errors.h"

#include <gtest/gtest.h>
#include <torch/version.h>

#include <set>

using tutorial::SamplerOptions;
using tutorial::ShardedSampler;

namespace {

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

}  // namespace

TEST(ShardedSampler, MatchesPyTorchDistributedSampler) {
  if (TORCH_VERSION_MAJOR != kTableTorchMajor || TORCH_VERSION_MINOR != kTableTorchMinor) {
    GTEST_SKIP() << "table made with torch " << kTableTorchMajor << "." << kTableTorchMinor
                 << "; its randperm may differ from this LibTorch's (regenerate the table)";
  }
  for (const auto& c : pytorch_sampler_cases()) {
    ShardedSampler sampler(c.size, SamplerOptions()
                                       .shuffle(c.shuffle)
                                       .seed(c.seed)
                                       .rank(c.rank)
                                       .world_size(c.world_size)
                                       .drop_last(c.drop_last));
    sampler.set_epoch(c.epoch);
    EXPECT_EQ(to_vector(sampler.indices()), c.indices)
        << "size " << c.size << " world " << c.world_size << " rank " << c.rank << " epoch "
        << c.epoch << " drop_last " << c.drop_last;
  }
}

TEST(ShardedSampler, ShardsAreDisjointAndCoverTheDataset) {
  const int64_t size = 1001, world = 4;
  std::multiset<int64_t> seen;
  for (int64_t rank = 0; rank < world; ++rank) {
    ShardedSampler sampler(size, SamplerOptions().seed(5).rank(rank).world_size(world));
    sampler.set_epoch(3);
    const auto indices = to_vector(sampler.indices());
    EXPECT_EQ(static_cast<int64_t>(indices.size()), 251);  // ceil(1001 / 4)
    seen.insert(indices.begin(), indices.end());
  }
  std::set<int64_t> distinct(seen.begin(), seen.end());
  EXPECT_EQ(static_cast<int64_t>(distinct.size()), size);  // every sample visited
  EXPECT_EQ(static_cast<int64_t>(seen.size()), 1004);      // 3 padded by repetition
  EXPECT_EQ(*distinct.begin(), 0);
  EXPECT_EQ(*distinct.rbegin(), size - 1);
}

TEST(ShardedSampler, DropLastGivesEqualShardsWithoutRepeats) {
  const int64_t size = 1001, world = 4;
  std::set<int64_t> seen;
  for (int64_t rank = 0; rank < world; ++rank) {
    ShardedSampler sampler(size, SamplerOptions().seed(5).rank(rank).world_size(world).drop_last(true));
    const auto indices = to_vector(sampler.indices());
    EXPECT_EQ(static_cast<int64_t>(indices.size()), 250);
    for (auto i : indices) EXPECT_TRUE(seen.insert(i).second) << "sample " << i << " twice";
  }
}

TEST(ShardedSampler, SameSeedSameOrderAndEpochsReshuffle) {
  ShardedSampler a(500, SamplerOptions().seed(9)), b(500, SamplerOptions().seed(9));
  EXPECT_TRUE(torch::equal(a.indices(), b.indices()));
  const auto epoch0 = a.indices();
  a.set_epoch(1);
  EXPECT_FALSE(torch::equal(a.indices(), epoch0));
  ShardedSampler other_seed(500, SamplerOptions().seed(10));
  EXPECT_FALSE(torch::equal(other_seed.indices(), epoch0));
  // A permutation: every index once.
  EXPECT_TRUE(torch::equal(std::get<0>(epoch0.sort()), torch::arange(500)));
}

TEST(ShardedSampler, WithoutShuffleKeepsOrder) {
  ShardedSampler sampler(7, SamplerOptions().shuffle(false));
  EXPECT_EQ(to_vector(sampler.indices()), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(ShardedSampler, RejectsBadRankAndWorldSize) {
  EXPECT_THROW(ShardedSampler(10, SamplerOptions().rank(3).world_size(3)), tutorial::UserError);
  EXPECT_THROW(ShardedSampler(10, SamplerOptions().rank(-1).world_size(3)), tutorial::UserError);
  EXPECT_THROW(ShardedSampler(10, SamplerOptions().world_size(0)), tutorial::UserError);
  EXPECT_THROW(ShardedSampler(0, SamplerOptions()), tutorial::UserError);
  EXPECT_THROW(ShardedSampler(2, SamplerOptions().world_size(3).drop_last(true)), tutorial::UserError);
}

TEST(ShardedSampler, OptionsChainAndShardNamesRankAndWorldSize) {
  struct Env {
    int64_t rank = 2, world_size = 4;
  };
  const auto by_numbers = SamplerOptions().seed(7).shard(2, 4);
  const auto by_env = SamplerOptions().seed(7).shard(Env{});
  for (const auto& options : {by_numbers, by_env}) {
    EXPECT_EQ(options.rank(), 2);
    EXPECT_EQ(options.world_size(), 4);
    EXPECT_EQ(options.seed(), 7u);
    EXPECT_TRUE(options.shuffle());
  }
  ShardedSampler a(40, by_numbers), b(40, by_env);
  EXPECT_EQ(to_vector(a.indices()), to_vector(b.indices()));
  EXPECT_EQ(a.num_samples(), 10);
}
