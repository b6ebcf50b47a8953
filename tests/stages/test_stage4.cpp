// Stage 4 end to end: the program forks its own two CPU ranks, --sync-bn
// trains a ResNet whose saved model Python loads as plain BatchNorm, and a
// worker killed mid-epoch makes the parent stop the other and exit non-zero
// naming it.
#include "python_peer.h"
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
                         dir / "data" + " --output-dir " + dir / "out" + " --trace " +
                         dir / "trace.json" + " --trace-steps 1:3",
                     dir);
  expect_a_finished_two_rank_run(r, dir, "spawned");
  // --trace: each worker writes its own timeline, with its buckets' all-reduces.
  for (const char* rank_file : {"trace.rank0.json", "trace.rank1.json"}) {
    const std::string text = read_text(dir.path() / rank_file);
    EXPECT_NE(text.find("\"name\": \"all-reduce\""), std::string::npos) << rank_file;
  }
}

TEST(Stage4, SyncBatchNormTrainsAResNetAsStage1OnTheWholeBatchAndPythonLoadsIt) {
  // Two ranks with --sync-bn on halves of each batch of 8, no augmentation:
  // the model stage 1 trains on the whole batches, BatchNorm statistics and all.
  TUTORIAL_SKIP_WITHOUT_GLOO();
  TempDir dir;
  const auto data = dir.path() / "cifar";
  write_cifar10_dataset(data, 32, 8);
  const std::string job = "--device cpu --dataset cifar10 --model resnet20 --augment off "
                          "--batch-size 8 --max-steps 2 --data-dir " + data.string();
  const auto r = run(kStage4Path, "--nproc-per-node 2 --sync-bn " + job + " --output-dir " +
                                      dir / "synced", dir);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("| sync-bn        | 19 BatchNorm layers, statistics over all ranks"),
            std::string::npos)
      << r.out;
  if (std::string(kTorchPython).empty()) GTEST_SKIP() << "no python3 with torch to load the models";
  const auto one = run(kStage1Path, job + " --output-dir " + dir / "whole", dir);
  ASSERT_EQ(one.exit_code, 0) << one.out << one.err;
  // Both load into torch.nn.BatchNorm2d layers (load_state_dict is strict),
  // whose running statistics moved at each of the 2 steps; then the largest
  // difference of any tensor of the two.
  const std::string script =
      "import sys, torch; sys.path.insert(0, sys.argv[1]); import interop_peer; "
      "model, _ = interop_peer.make(\"resnet20\"); "
      "model.load_state_dict(torch.load(sys.argv[2], weights_only=True)); "
      "layers = [m for m in model.modules() if type(m) is torch.nn.BatchNorm2d]; "
      "whole = torch.load(sys.argv[3], weights_only=True); "
      "diff = max((v.double() - whole[k].double()).abs().max().item() "
      "for k, v in model.state_dict().items()); "
      "print(len(layers), sorted({int(m.num_batches_tracked) for m in layers}), diff)";
  const auto python = run_command(std::string(kTorchPython) + " -c '" + script + "' '" +
                                      std::filesystem::path(kInteropPeerPath).parent_path().string() +
                                      "' '" + dir / "synced/model.pth" + "' '" +
                                      dir / "whole/model.pth" + "'",
                                  dir);
  ASSERT_EQ(python.exit_code, 0) << python.err;
  const std::string prefix = "19 [2] ";
  ASSERT_EQ(python.out.substr(0, prefix.size()), prefix) << python.out;
  EXPECT_LT(std::stod(python.out.substr(prefix.size())), 1e-4)
      << "the largest difference from stage 1's model: " << python.out;
}

TEST(Stage4, SyncBatchNormWithoutBatchNormLayersSaysSoAndTrains) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 64, 16);
  const auto r = run(kStage4Path,
                     "--nproc-per-node 2 --device cpu --sync-bn --max-steps 1 --data-dir " +
                         dir / "data" + " --output-dir " + dir / "out",
                     dir);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string note = "Note: --sync-bn: the model has no BatchNorm layer, nothing to synchronize";
  EXPECT_NE(r.out.find(note), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(note), r.out.rfind(note)) << "rank 0 alone says it";
  EXPECT_NE(r.out.find("| sync-bn        | no BatchNorm layer: nothing to synchronize"),
            std::string::npos)
      << r.out;
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
