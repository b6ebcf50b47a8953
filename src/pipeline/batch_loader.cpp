#include "pipeline/batch_loader.h"

#include "core/errors.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace tutorial {

torch::Tensor gather_rows(const torch::Tensor& source, const torch::Tensor& indices, bool pinned) {
  if (!source.is_cpu() || !source.is_contiguous() || indices.scalar_type() != torch::kLong ||
      !indices.is_cpu()) {
    auto rows = source.index_select(0, indices);
    return pinned ? rows.pin_memory() : rows;
  }
  auto sizes = source.sizes().vec();
  sizes[0] = indices.numel();
  auto rows = torch::empty(sizes, source.options().pinned_memory(pinned));
  const auto row_bytes = static_cast<size_t>(source.numel() > 0 ? source.stride(0) : 0) *
                         source.element_size();
  const auto* from = static_cast<const char*>(source.data_ptr());
  auto* to = static_cast<char*>(rows.data_ptr());
  const auto contiguous_indices = indices.contiguous();
  const auto* index = contiguous_indices.data_ptr<int64_t>();
  const int64_t count = source.size(0);
  for (int64_t i = 0; i < indices.numel(); ++i) {
    if (index[i] < 0 || index[i] >= count) {
      throw std::out_of_range("gather_rows: index " + std::to_string(index[i]) + " of " +
                              std::to_string(count) + " rows");
    }
    std::memcpy(to + static_cast<size_t>(i) * row_bytes,
                from + static_cast<size_t>(index[i]) * row_bytes, row_bytes);
  }
  return rows;
}

BatchLoader::BatchLoader(const ImageDataset& dataset, ShardedSampler sampler,
                         LoaderOptions options)
    : dataset_(dataset), sampler_(sampler), options_(options) {
  if (options_.batch_size() < 1) {
    throw UserError("batch size must be at least 1, got " + std::to_string(options_.batch_size()));
  }
  if (options_.prefetch_batches() < 0) throw UserError("prefetch_batches must be >= 0");
  if (num_batches() < 1) {
    throw UserError("dataset has " + std::to_string(num_samples()) +
                    " samples for this rank: fewer than one batch of " +
                    std::to_string(options_.batch_size()) + " with drop_last");
  }
}

BatchLoader::~BatchLoader() { stop_producer(); }

int64_t BatchLoader::num_batches() const {
  const auto samples = sampler_.num_samples();
  return options_.drop_last() ? samples / options_.batch_size()
                            : (samples + options_.batch_size() - 1) / options_.batch_size();
}

Batch BatchLoader::make_batch(int64_t batch_index) const {
  const auto begin = batch_index * options_.batch_size();
  const auto end = std::min(begin + options_.batch_size(), epoch_indices_.size(0));
  auto indices = epoch_indices_.slice(0, begin, end);
  const bool pinned = options_.device().is_cuda() && options_.pin_memory();
  Batch batch{gather_rows(dataset_.images, indices, pinned),
              gather_rows(dataset_.labels, indices, pinned)};
  if (options_.device().is_cuda() && !batch.images.is_cuda()) {  // else the dataset lives there
    // uint8 crosses the bus (4x smaller than float); conversion happens on the GPU.
    batch.images = batch.images.to(options_.device(), /*non_blocking=*/options_.pin_memory());
    batch.labels = batch.labels.to(options_.device(), /*non_blocking=*/options_.pin_memory());
  }
  return batch;
}

void BatchLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  if (first_batch < 0 || first_batch > num_batches()) {
    throw std::out_of_range("BatchLoader::start_epoch: first batch " + std::to_string(first_batch) +
                            " of " + std::to_string(num_batches()));
  }
  stop_producer();
  sampler_.set_epoch(epoch);
  epoch_indices_ = sampler_.indices();
  // A dataset held on the GPU (--data-on-device) is gathered there.
  if (!dataset_.images.device().is_cpu()) epoch_indices_ = epoch_indices_.to(dataset_.images.device());
  next_batch_ = first_batch;
  if (options_.prefetch_batches() == 0) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ready_.clear();
    stop_requested_ = false;
    producer_done_ = false;
    producer_error_ = nullptr;
  }
  producer_ = std::thread(&BatchLoader::produce, this, first_batch, num_batches());
}

void BatchLoader::produce(int64_t first_batch, int64_t batch_count) {
  try {
    for (int64_t index = first_batch; index < batch_count; ++index) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] {
          return stop_requested_ || static_cast<int64_t>(ready_.size()) < options_.prefetch_batches();
        });
        if (stop_requested_) break;
      }
      Batch batch = make_batch(index);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.push_back(std::move(batch));
      changed_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    producer_error_ = std::current_exception();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  producer_done_ = true;
  changed_.notify_all();
}

std::optional<Batch> BatchLoader::next() {
  if (!epoch_indices_.defined()) throw std::logic_error("BatchLoader::next() before start_epoch()");
  if (next_batch_ >= num_batches()) return std::nullopt;
  if (options_.prefetch_batches() == 0) return make_batch(next_batch_++);

  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !ready_.empty() || producer_done_; });
  if (producer_error_) std::rethrow_exception(producer_error_);
  if (ready_.empty()) throw std::logic_error("batch producer ended early");
  Batch batch = std::move(ready_.front());
  ready_.pop_front();
  ++next_batch_;
  changed_.notify_all();
  return batch;
}

void BatchLoader::stop_producer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_requested_ = true;
    changed_.notify_all();
  }
  if (producer_.joinable()) producer_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  ready_.clear();
}

}  // namespace tutorial
