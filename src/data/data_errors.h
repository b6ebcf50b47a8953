// The errors a bad data file causes, worded in one place so every loader
// reports problems the same way: "<path>: <what is wrong>".
#pragma once

#include "core/errors.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace tutorial {

// A UserError whose one-line message is "<path>: <problem>".
UserError file_error(const std::filesystem::path& path, const std::string& problem);

// A UserError for a label byte outside [0, num_classes).
UserError label_out_of_range(const std::filesystem::path& path, int64_t label, int64_t index,
                             int64_t num_classes);

}  // namespace tutorial
