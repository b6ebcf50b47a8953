// spawn_workers: the parent waits for its workers, and when one fails it stops
// the others and returns that worker's status.
#include "distributed/spawn_workers.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using tutorial::spawn_workers;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST(SpawnWorkers, AllSucceed) {
  EXPECT_EQ(spawn_workers(3, [](int64_t local_rank) { return local_rank >= 0 ? 0 : 1; }), 0);
}

TEST(SpawnWorkers, AFailureStopsTheOthersAndIsReturned) {
  const auto start = std::chrono::steady_clock::now();
  testing::internal::CaptureStderr();
  const int result = spawn_workers(3, [](int64_t local_rank) {
    if (local_rank == 1) return 3;
    std::this_thread::sleep_for(std::chrono::seconds(30));  // stopped by the parent
    return 0;
  });
  const auto printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(result, 3);
  EXPECT_LT(seconds_since(start), 10.0);
  EXPECT_NE(printed.find("worker 1 exited with status 3; stopping the other workers"),
            std::string::npos)
      << printed;
}

TEST(SpawnWorkers, AWorkerKilledBySignalIsNamedWithIt) {
  testing::internal::CaptureStderr();
  const int result = spawn_workers(2, [](int64_t local_rank) {
    if (local_rank == 0) ::raise(SIGKILL);
    std::this_thread::sleep_for(std::chrono::seconds(30));
    return 0;
  });
  const auto printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(result, 128 + SIGKILL);
  EXPECT_NE(printed.find("worker 0 was killed by signal 9"), std::string::npos) << printed;
}

TEST(SpawnWorkers, WorkersIgnoringSigtermAreKilledAfterTheGracePeriod) {
  const auto start = std::chrono::steady_clock::now();
  testing::internal::CaptureStderr();
  const int result = spawn_workers(
      2,
      [](int64_t local_rank) {
        if (local_rank == 0) {
          std::this_thread::sleep_for(std::chrono::milliseconds(300));  // worker 1 is ready
          return 5;
        }
        ::signal(SIGTERM, SIG_IGN);
        std::this_thread::sleep_for(std::chrono::seconds(30));
        return 0;
      },
      std::chrono::milliseconds(500));
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(result, 5);
  const double seconds = seconds_since(start);
  EXPECT_GE(seconds, 0.3 + 0.5) << "worker 1 ignored SIGTERM: only SIGKILL after the grace ends it";
  EXPECT_LT(seconds, 10.0);
}
