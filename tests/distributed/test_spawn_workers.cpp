// spawn_workers: the parent waits for its workers, and when one fails it stops
// the others and returns that worker's status.
#include "distributed/spawn_workers.h"
#include "test_files.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
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

// Every rank meeting the same bad option or missing file: one line, not one
// per worker, and no line of the parent's after a user error (status 2).
TEST(SpawnWorkers, ALineSeveralWorkersPrintIsPrintedOnceAndAUserErrorGetsNoSecondLine) {
  // Every worker prints before any exits (the parent stops the others at the
  // first failure): each leaves a file, then waits for all three.
  const tutorial::testdata::TempDir dir;
  const std::string folder = dir.path().string();
  testing::internal::CaptureStderr();
  const int result = spawn_workers(3, [&folder](int64_t local_rank) {
    if (local_rank == 1) std::cerr << "only worker 1 says this\n";
    std::cerr << "stage: error: data directory /nowhere does not exist" << std::endl;
    std::cerr << "a last line without its newline";
    std::ofstream(folder + "/" + std::to_string(local_rank));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::distance(std::filesystem::directory_iterator(folder),
                         std::filesystem::directory_iterator()) < 3 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 2;
  });
  const auto printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(result, 2);
  EXPECT_EQ(printed.find("stage: error: data directory /nowhere does not exist\n"),
            printed.rfind("stage: error: data directory /nowhere does not exist\n"))
      << printed;
  EXPECT_NE(printed.find("only worker 1 says this\n"), std::string::npos) << printed;
  EXPECT_NE(printed.find("a last line without its newline\n"), std::string::npos) << printed;
  EXPECT_EQ(printed.find("exited"), std::string::npos) << printed;
  EXPECT_EQ(std::count(printed.begin(), printed.end(), '\n'), 3) << printed;
}

// A worker may print the same line many times (a warning each epoch): only
// lines that another worker already printed are dropped.
TEST(SpawnWorkers, AWorkerRepeatingItselfIsNotSilenced) {
  testing::internal::CaptureStderr();
  const int result = spawn_workers(1, [](int64_t) {
    for (int i = 0; i < 3; ++i) std::cerr << "warning: slow step" << std::endl;
    return 0;
  });
  const auto printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(result, 0);
  EXPECT_EQ(printed, "warning: slow step\nwarning: slow step\nwarning: slow step\n");
}
