// Which samples a rank visits in an epoch, and in what order.
//
// ShardedSampler follows torch.utils.data.DistributedSampler exactly: a seeded
// permutation from seed + epoch, padding by repetition (or dropping the tail)
// so every rank gets the same number of samples, then rank r takes positions
// r, r + world_size, ... With rank 0 of 1 it is an ordinary (seeded) shuffle.
#pragma once

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>

namespace tutorial {

// Named and chainable, as LibTorch's own options:
// SamplerOptions().seed(config.seed).rank(rank).world_size(world_size).
struct SamplerOptions {
  // Rank `index`'s shard of `count`: .rank(index).world_size(count).
  SamplerOptions& shard(int64_t index, int64_t count) { return rank(index).world_size(count); }
  // The shard of the rank a launcher environment names (its .rank, .world_size).
  template <typename LaunchEnv>
  SamplerOptions& shard(const LaunchEnv& env) { return shard(env.rank, env.world_size); }
  TORCH_ARG(bool, shuffle) = true;
  TORCH_ARG(uint64_t, seed) = 0;
  TORCH_ARG(int64_t, rank) = 0;
  TORCH_ARG(int64_t, world_size) = 1;
  // Drop the tail instead of padding (DistributedSampler's drop_last).
  TORCH_ARG(bool, drop_last) = false;
  // Pad shards to equal length by repeating samples (DistributedSampler does,
  // so every rank runs the same number of steps). Off for evaluation: shards
  // then differ by at most one sample and every sample is counted once.
  TORCH_ARG(bool, pad) = true;
};

class ShardedSampler {
 public:
  ShardedSampler(int64_t dataset_size, SamplerOptions options);

  // Reshuffles for the given epoch, as DistributedSampler.set_epoch does.
  void set_epoch(int64_t epoch) { epoch_ = epoch; }
  int64_t epoch() const { return epoch_; }

  // Number of samples this rank visits per epoch.
  int64_t num_samples() const { return num_samples_; }
  const SamplerOptions& options() const { return options_; }

  // This rank's sample indices for the current epoch: int64 [num_samples()].
  torch::Tensor indices() const;

 private:
  int64_t dataset_size_;
  SamplerOptions options_;
  int64_t epoch_ = 0;
  int64_t num_samples_;
};

}  // namespace tutorial
