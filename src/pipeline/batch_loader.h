// Batches from an in-memory dataset, with no per-sample objects: each batch
// gathers the dataset tensors' rows by the sampler's indices.
//
// Optionally a background thread prepares the next batches (gather, pin,
// copy to the device) while the current one trains.
#pragma once

#include "data/dataset.h"
#include "pipeline/sampler.h"

#include <torch/types.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

namespace tutorial {

struct Batch {
  torch::Tensor images;  // uint8 [B,C,H,W] on the loader's device
  torch::Tensor labels;  // int64 [B] on the loader's device
};

// source.index_select(0, indices), in pinned memory if asked. For a CPU
// tensor it is one memcpy per row on the calling thread: the loader's
// background thread then never starts an OpenMP team of its own, whose
// spinning threads would take the cores from the training's math, and a
// pinned batch is written once, not gathered and then copied.
torch::Tensor gather_rows(const torch::Tensor& source, const torch::Tensor& indices, bool pinned);

// Named and chainable, as LibTorch's DataLoaderOptions:
// LoaderOptions(64).device(device).pin_memory(true).
struct LoaderOptions {
  LoaderOptions() = default;
  /* implicit */ LoaderOptions(int64_t batch_size) : batch_size_(batch_size) {}
  TORCH_ARG(int64_t, batch_size) = 64;
  TORCH_ARG(bool, drop_last) = false;  // drop a last batch smaller than batch_size
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  // Page-locked host memory for faster, asynchronous copies to a GPU.
  TORCH_ARG(bool, pin_memory) = false;
  // Batches prepared ahead by a background thread; 0: none.
  TORCH_ARG(int64_t, prefetch_batches) = 2;
};

class BatchLoader {
 public:
  BatchLoader(const ImageDataset& dataset, ShardedSampler sampler, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Starts an epoch (reshuffling as DistributedSampler.set_epoch does);
  // an epoch still running is abandoned. A resumed run starts at
  // `first_batch`: the epoch's order is the same, its first batches skipped.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the epoch, or nullopt at its end.
  std::optional<Batch> next();

  int64_t num_batches() const;
  // The epoch started last, and the index in it of the batch next() returns next.
  int64_t epoch() const { return sampler_.epoch(); }
  int64_t position() const { return next_batch_; }
  int64_t num_samples() const { return sampler_.num_samples(); }
  const ImageDataset& dataset() const { return dataset_; }
  const LoaderOptions& options() const { return options_; }

 private:
  Batch make_batch(int64_t batch_index) const;
  void produce(int64_t first_batch, int64_t batch_count);
  void stop_producer();

  const ImageDataset& dataset_;
  ShardedSampler sampler_;
  LoaderOptions options_;
  torch::Tensor epoch_indices_;
  int64_t next_batch_ = 0;

  // Background producer state, guarded by mutex_.
  std::thread producer_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> ready_;
  bool stop_requested_ = false;
  bool producer_done_ = true;
  std::exception_ptr producer_error_;
};

}  // namespace tutorial
