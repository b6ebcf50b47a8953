// The DDP stages' rows of the configuration table.
#pragma once

#include "core/console.h"
#include "distributed/launch_env.h"

#include <cstdint>
#include <string>

namespace tutorial {

// Appends "world size | 2 (torchrun, backend gloo)" and "batch per rank | 32".
void add_world_rows(ConfigRows& rows, const LaunchEnv& env, const std::string& backend,
                    int64_t batch_per_rank);

}  // namespace tutorial
