// The train and test sets a configuration asks for, with the transforms that
// go with them (augmentation, normalisation).
#pragma once

#include "data/dataset.h"
#include "models/model_factory.h"
#include "pipeline/batch_loader.h"
#include "pipeline/transforms.h"
#include "train/config.h"

#include <string>

namespace tutorial {

struct TrainingData {
  std::string data_dir;  // where it was read from
  ImageDataset train, test;
  BatchTransform train_transform, test_transform;
  ImageShape image_shape() const { return {train.channels(), train.height(), train.width()}; }
};

// Fashion-MNIST and MNIST get the tutorial's ToTensor scaling only; CIFAR and
// image folders are normalised with the training set's per-channel statistics
// and, with --augment auto, augmented (random crop with padding 4, flip).
// With --data-on-device both sets are held on `device` (as uint8, a quarter
// of float's size), so batches are gathered and augmented there.
TrainingData load_training_data(const TrainConfig& config, torch::Device device);

// The stages' loader settings: --batch-size, --prefetch, batches on `device`,
// in page-locked host memory on their way to a GPU.
LoaderOptions loader_options(const TrainConfig& config, torch::Device device);

}  // namespace tutorial
