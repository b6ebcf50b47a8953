// The command line every stage shares (cxxopts). Stage-specific options are
// switched on with CommandLineFeatures so each --help lists only what applies.
// The options themselves are declared in train/command_line_options.cpp.
#pragma once

#include "train/config.h"

#include <torch/arg.h>

#include <optional>
#include <string>

namespace tutorial {

// The stage-specific options a stage offers, chained like LibTorch's options:
// CommandLineFeatures().distributed(true).spawn(true).
struct CommandLineFeatures {
  TORCH_ARG(bool, device_list) = false;  // --devices (stage 2, DataParallel)
  TORCH_ARG(bool, distributed) = false;  // --backend, --dist-timeout (stages 3 and 4)
  // --nodes, --nproc-per-node, --node-rank, --master-addr, --master-port (stage 4)
  TORCH_ARG(bool, spawn) = false;
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
