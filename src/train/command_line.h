// The command line every stage shares (cxxopts). Stage-specific options are
// switched on with CommandLineFeatures so each --help lists only what applies.
#pragma once

#include "train/config.h"

#include <optional>
#include <string>

namespace tutorial {

struct CommandLineFeatures {
  bool device_list = false;  // --devices (stage 2, DataParallel)
  bool distributed = false;  // --backend, --dist-timeout (stages 3 and 4)
  bool spawn = false;        // --nodes, --nproc-per-node, --node-rank, --master-* (stage 4)
};

// Parses argv into a validated TrainConfig. Returns nullopt after printing
// --help. Throws UserError naming the option for anything invalid.
std::optional<TrainConfig> parse_command_line(int argc, const char* const argv[],
                                              const std::string& program,
                                              const std::string& description,
                                              CommandLineFeatures features = {});

// Checks ranges and names (batch size >= 1, known model, ...); throws UserError.
void validate(const TrainConfig& config);

}  // namespace tutorial
