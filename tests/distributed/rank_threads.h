// Ranks as threads of one test, each with its own process group on Gloo over
// loopback, for the DDP tests.
#pragma once

#include "distributed/network.h"
#include "distributed/process_group.h"

#include <exception>
#include <functional>
#include <thread>
#include <vector>

namespace tutorial::testdata {

// Runs body(rank, group) for every rank on its own thread; rethrows the first failure.
inline void run_ranks(int64_t world_size, const std::function<void(int64_t, ProcessGroup&)>& body) {
  const int port = find_free_port();
  std::vector<std::exception_ptr> errors(static_cast<size_t>(world_size));
  std::vector<std::thread> threads;
  for (int64_t rank = 0; rank < world_size; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        LaunchEnv env{Launcher::kTorchrun, rank, rank, world_size, world_size, "127.0.0.1", port};
        ProcessGroup group(env, "gloo", torch::kCPU, std::chrono::seconds(30));
        body(rank, group);
      } catch (...) {
        errors[static_cast<size_t>(rank)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace tutorial::testdata
