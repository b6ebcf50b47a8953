#include "distributed/world_rows.h"

namespace tutorial {

void add_world_rows(ConfigRows& rows, const LaunchEnv& env, const std::string& backend,
                    int64_t batch_per_rank) {
  rows.push_back({"world size", std::to_string(env.world_size) + " (" +
                                    launcher_name(env.launcher) + ", backend " + backend + ")"});
  rows.push_back({"batch per rank", std::to_string(batch_per_rank)});
}

}  // namespace tutorial
