// Ranks as threads of one test, each with its own process group on Gloo over
// loopback, and the checks the DDP tests end with.
#pragma once

#include "distributed/network.h"
#include "distributed/process_group.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

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

// Every rank's parameters equal `reference`'s (one process on the whole
// batch) within 1e-5, and bitwise equal to rank 0's. Model: a Classifier or
// a TORCH_MODULE holder, anything with ->named_parameters().
template <typename Model>
void expect_same_parameters(const Model& reference, const std::vector<Model>& ranks) {
  auto expected = reference->named_parameters();
  for (size_t r = 0; r < ranks.size(); ++r) {
    for (const auto& p : ranks[r]->named_parameters()) {
      EXPECT_TRUE(torch::allclose(p.value(), expected[p.key()], /*rtol=*/0, /*atol=*/1e-5))
          << "rank " << r << " " << p.key() << " differs from one process by "
          << (p.value() - expected[p.key()]).abs().max().template item<double>();
      EXPECT_TRUE(torch::equal(p.value(), ranks[0]->named_parameters()[p.key()]))
          << "rank " << r << " " << p.key() << " is not bitwise equal to rank 0's";
    }
  }
}

// Every rank's buffers (BatchNorm's running_mean, running_var and
// num_batches_tracked) equal `reference`'s within 1e-5, and rank 0's bitwise.
template <typename Model>
void expect_same_buffers(const Model& reference, const std::vector<Model>& ranks) {
  auto expected = reference->named_buffers();
  for (size_t r = 0; r < ranks.size(); ++r) {
    for (const auto& b : ranks[r]->named_buffers()) {
      const auto& want = expected[b.key()];
      EXPECT_TRUE(b.value().is_floating_point()
                      ? torch::allclose(b.value(), want, /*rtol=*/0, /*atol=*/1e-5)
                      : torch::equal(b.value(), want))
          << "rank " << r << " " << b.key() << " differs from one process by "
          << (b.value() - want).abs().max().template item<double>();
      EXPECT_TRUE(torch::equal(b.value(), ranks[0]->named_buffers()[b.key()]))
          << "rank " << r << " " << b.key() << " is not bitwise equal to rank 0's";
    }
  }
}

}  // namespace tutorial::testdata
