#include "data/data_errors.h"

namespace tutorial {

UserError file_error(const std::filesystem::path& path, const std::string& problem) {
  return UserError(path.string() + ": " + problem);
}

UserError label_out_of_range(const std::filesystem::path& path, int64_t label, int64_t index,
                             int64_t num_classes) {
  return file_error(path, "label " + std::to_string(label) + " of sample " + std::to_string(index) +
                              " is out of range (expected 0.." + std::to_string(num_classes - 1) +
                              ")");
}

}  // namespace tutorial
