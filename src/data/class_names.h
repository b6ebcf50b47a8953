// Class names of the standard datasets, and reading them from a names file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tutorial {

std::vector<std::string> fashion_mnist_class_names();
std::vector<std::string> cifar10_class_names();
std::vector<std::string> cifar100_class_names();  // the fine labels

// "0", "1", ..., "<count - 1>": for datasets whose classes are digits or unnamed.
std::vector<std::string> numbered_class_names(int64_t count);

// One name per non-blank line (surrounding white space removed), as in CIFAR's
// batches.meta.txt and fine_label_names.txt; a count other than `expected_count`
// is a UserError naming `path`.
std::vector<std::string> read_class_names_file(const std::string& path, int64_t expected_count);

}  // namespace tutorial
