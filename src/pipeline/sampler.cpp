#include "pipeline/sampler.h"

#include "core/errors.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>

namespace tutorial {

ShardedSampler::ShardedSampler(int64_t dataset_size, SamplerOptions options)
    : dataset_size_(dataset_size), options_(options) {
  if (options_.world_size() < 1) {
    throw UserError("world size must be at least 1, got " + std::to_string(options_.world_size()));
  }
  if (options_.rank() < 0 || options_.rank() >= options_.world_size()) {
    throw UserError("rank " + std::to_string(options_.rank()) + " is outside [0, " +
                    std::to_string(options_.world_size()) + ")");
  }
  if (dataset_size_ < 1) throw UserError("cannot sample from an empty dataset");
  const int64_t world = options_.world_size();
  if (!options_.pad() && !options_.drop_last()) {
    num_samples_ = (dataset_size_ - options_.rank() + world - 1) / world;  // positions rank, rank+world, ...
  } else if (options_.drop_last() && dataset_size_ % world != 0) {
    num_samples_ = (dataset_size_ - world + world - 1) / world;  // ceil((n - world) / world)
  } else {
    num_samples_ = (dataset_size_ + world - 1) / world;  // ceil(n / world)
  }
  if (num_samples_ < 1) {
    throw UserError("dataset of " + std::to_string(dataset_size_) +
                    " samples is too small to give each of " + std::to_string(world) +
                    " ranks a sample with drop_last");
  }
}

torch::Tensor ShardedSampler::indices() const {
  torch::Tensor order;
  if (options_.shuffle()) {
    // Same generator and seed as DistributedSampler: torch.Generator().manual_seed(seed + epoch).
    auto generator =
        at::make_generator<at::CPUGeneratorImpl>(options_.seed() + static_cast<uint64_t>(epoch_));
    order = torch::randperm(dataset_size_, generator, torch::kLong);
  } else {
    order = torch::arange(dataset_size_, torch::kLong);
  }
  if (!options_.pad() && !options_.drop_last()) {
    return order.slice(0, options_.rank(), dataset_size_, options_.world_size()).contiguous();
  }
  const int64_t total_size = num_samples_ * options_.world_size();
  if (total_size > dataset_size_) {
    // Pad by repeating the order from its start, as many times as needed.
    const int64_t repeats = (total_size + dataset_size_ - 1) / dataset_size_;
    order = order.repeat({repeats}).slice(0, 0, total_size);
  } else {
    order = order.slice(0, 0, total_size);
  }
  return order.slice(0, options_.rank(), total_size, options_.world_size()).contiguous();
}

}  // namespace tutorial
