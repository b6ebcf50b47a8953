// CIFAR-10 and CIFAR-100 in their "binary version" (https://www.cs.toronto.edu/~kriz/cifar.html):
// fixed-size records of label byte(s) followed by a 3x32x32 image stored CHW.
#pragma once

#include "data/dataset.h"

#include <string>

namespace tutorial {

// data_batch_1.bin .. data_batch_5.bin (train) or test_batch.bin (test), in `dir`
// or in its cifar-10-batches-bin subfolder. Class names come from
// batches.meta.txt when present.
ImageDataset load_cifar10(const std::string& dir, Split split);

// train.bin or test.bin, in `dir` or in its cifar-100-binary subfolder; labels
// are the 100 fine labels. Class names come from fine_label_names.txt when present.
ImageDataset load_cifar100(const std::string& dir, Split split);

}  // namespace tutorial
