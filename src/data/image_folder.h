// Image-folder datasets: root/<class name>/<image>.{jpg,jpeg,png}, as used by
// torchvision's ImageFolder. Classes are the subfolders sorted by name (label i
// is the i-th); files are sorted by name within a class. All images must share
// one size; files with other extensions and hidden entries (".name") are ignored.
#pragma once

#include "data/dataset.h"

#include <string>
#include <vector>

namespace tutorial {

// True for names ending in .jpg, .jpeg or .png, in any letter case.
bool is_image_file_name(const std::string& file_name);

// The class folder names under `root`, sorted; a UserError if there are none.
std::vector<std::string> list_class_folders(const std::string& root);

// Loads `root`, whose class folders must be exactly `class_names` (so that a test
// split gets the same labels as its training split).
ImageDataset load_image_folder(const std::string& root,
                               const std::vector<std::string>& class_names);

// Loads `root` with the classes it holds.
ImageDataset load_image_folder(const std::string& root);

}  // namespace tutorial
