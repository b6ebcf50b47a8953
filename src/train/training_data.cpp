#include "train/training_data.h"

#include "core/errors.h"
#include "data/datasets.h"

namespace tutorial {

TrainingData load_training_data(const TrainConfig& config, torch::Device device) {
  const auto kind = parse_dataset_kind(config.dataset);
  TrainingData data;
  data.data_dir = config.data_dir.empty() ? default_data_dir(kind) : config.data_dir;
  data.train = load_dataset(kind, data.data_dir, Split::kTrain);
  data.test = load_dataset(kind, data.data_dir, Split::kTest);
  if (data.train.images.sizes().slice(1) != data.test.images.sizes().slice(1)) {
    throw UserError(data.data_dir + ": train and test images differ in size");
  }
  if (data.train.num_classes() != data.test.num_classes()) {
    throw UserError(data.data_dir + ": train and test sets have different classes");
  }

  const bool mnist_like = kind == DatasetKind::kFashionMnist || kind == DatasetKind::kMnist;
  const bool augment = config.augment == "on" || (config.augment == "auto" && !mnist_like);
  data.train_transform.augment = augment;
  if (!mnist_like) {
    const auto stats = channel_stats(data.train);
    for (auto* transform : {&data.train_transform, &data.test_transform}) {
      transform->mean = stats.mean;
      transform->stddev = stats.std;
    }
  }
  if (config.fast_path.data_on_device) {
    for (auto* dataset : {&data.train, &data.test}) {
      dataset->images = dataset->images.to(device);
      dataset->labels = dataset->labels.to(device);
    }
  }
  return data;
}

LoaderOptions loader_options(const TrainConfig& config, torch::Device device) {
  return LoaderOptions(config.batch_size)
      .device(device)
      .pin_memory(device.is_cuda())
      .prefetch_batches(config.prefetch);
}

}  // namespace tutorial
