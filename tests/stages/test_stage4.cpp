// Stage 4 end to end: the program forks its own two CPU ranks, and a worker
// killed mid-epoch makes the parent stop the other and exit non-zero naming it.
#include "stage_paths.h"
#include "stage_runner.h"
#include "test_files.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>

using namespace tutorial::testdata;

TEST(Stage4, TwoSpawnedWorkersTrainAndSave) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 256, 64);
  const auto r = run(kStage4Path,
                     "--nproc-per-node 2 --device cpu --max-steps 4 --log-interval 1 --data-dir " +
                         dir / "data" + " --output-dir " + dir / "out",
                     dir);
  expect_a_finished_two_rank_run(r, dir, "spawned");
}

namespace {

// Two workers of the default job; the newest process of the run (the last
// worker forked) is sent `signal` (pkill's name for it) 3 s in.
SignalledRun run_with_last_worker_signalled(const std::string& signal, int dist_timeout_s) {
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 2048, 64);
  const std::string pattern =
      "[s]tage4_ddp_spawned --nproc-per-node 2 .*" + dir.path().filename().string();
  {
    std::ofstream script(dir.path() / "run.sh");
    script << "'" << kStage4Path << "' --nproc-per-node 2 --device cpu --epochs 1000 "
           << "--dist-timeout " << dist_timeout_s << " --data-dir '" << dir / "data"
           << "' --output-dir '" << dir / "out" << "' &\n"
           << "sleep 3\n"
           << "pkill -" << signal << " -n -f '" << pattern << "'\n"
           << "wait $!\n";
  }
  const auto start = std::chrono::steady_clock::now();
  SignalledRun run;
  run.result = run_command("/bin/sh '" + dir / "run.sh" + "'", dir);
  run.seconds = seconds_since(start);
  run.left_running = running_processes(pattern, dir);
  return run;
}

}  // namespace

TEST(Stage4, AKilledWorkerStopsTheOtherAndIsNamed) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  const SignalledRun run = run_with_last_worker_signalled("9", 20);
  EXPECT_EQ(run.result.exit_code, 128 + 9) << run.result.err;
  EXPECT_NE(run.result.err.find("worker 1 was killed by signal 9"), std::string::npos)
      << run.result.err;
  EXPECT_LT(run.seconds, 60.0);
  EXPECT_EQ(run.left_running, "") << "no worker is left behind";
}

TEST(Stage4, AStoppedWorkerIsNamedAndKilledWithinTheTimeout) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  const SignalledRun run = run_with_last_worker_signalled("STOP", 10);
  const RunResult& r = run.result;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex("stage4_ddp_spawned: error: rank 0: [a-z -]+ "
                                                  "timed out after 10 s: rank 1 stopped "
                                                  "answering [0-9]+ s ago")))
      << r.err;
  EXPECT_NE(r.err.find("worker 0 exited with status 2; worker 1 is stopped (SIGSTOP or a "
                       "debugger): killed"),
            std::string::npos)
      << r.err;
  EXPECT_LT(run.seconds, 3 + 10 + 10.0) << "the stop, --dist-timeout, and a few seconds";
  EXPECT_EQ(run.left_running, "") << "no worker is left behind, stopped or not";
}

TEST(Stage4, BadSpawnOptionsEndInOneLineAndExitStatus2) {
  TempDir dir;
  for (const auto& [args, phrase] : std::vector<std::pair<std::string, std::string>>{
           {"--nproc-per-node 0", "--nproc-per-node"},
           {"--nodes 2 --node-rank 2 --master-port 29500", "--node-rank"},
           {"--nodes 2", "--master-port"},
           {"--master-port 70000", "--master-port"},
       }) {
    const auto r = run(kStage4Path, args + " --device cpu", dir);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << args << ": " << r.err;
    EXPECT_NE(r.err.find(phrase), std::string::npos) << args << ": " << r.err;
  }
}

// Found by the parent before it starts a worker (and, were one started, by
// every worker alike after the rendezvous): one line.
TEST(Stage4, ABatchTheWorkersDoNotDivideIsOneLine) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 64, 16);
  const auto r = run(kStage4Path,
                     "--nproc-per-node 3 --batch-size 64 --device cpu --dist-timeout 30 --data-dir " +
                         (dir.path() / "data").string() + " --output-dir " + (dir.path() / "out").string(),
                     dir);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("stage4_ddp_spawned: error: --batch-size 64 is not divisible by the world "
                       "size 3"),
            std::string::npos)
      << r.err;
}
