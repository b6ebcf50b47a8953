// Stage 3 end to end: two CPU ranks over Gloo started by the project's shell
// launcher, by torchrun and by mpirun, and every bad launch environment ending in one
// line and exit status 2 within its timeout.
#include "distributed/network.h"
#include "stage_paths.h"
#include "stage_runner.h"
#include "test_files.h"

#include <gtest/gtest.h>
#include <chrono>
#include <fstream>
#include <regex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace tutorial::testdata;
namespace fs = std::filesystem;

namespace {

// A loopback port held busy (listened on) while this object lives.
class BusyPort {
 public:
  BusyPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::listen(fd_, 1);
    socklen_t length = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~BusyPort() { ::close(fd_); }
  std::string port() const { return std::to_string(port_); }

 private:
  int fd_;
  int port_ = 0;
};

std::string stage3_args(const TempDir& dir) {
  return " --device cpu --data-dir " + dir / "data" +
         " --max-steps 4 --log-interval 1 --dist-timeout 60 --output-dir " + dir / "out";
}

}  // namespace

TEST(Stage3, TwoRanksStartedByTheShellLauncher) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 256, 64);
  const std::string port = std::to_string(tutorial::find_free_port());
  const auto r = run_command(std::string(kClearLauncherVariables) + "'" + kLaunchLocalPath +
                                 "' --nproc-per-node 2 --master-port " + port + " '" +
                                 kStage3Path + "'" + stage3_args(dir),
                             dir);
  expect_a_finished_two_rank_run(r, dir, "torchrun");
  EXPECT_EQ(r.err, "") << "ranks that end at different times say nothing (no Broken pipe)";
}

// --trace records, and changes nothing: the traced run saves the same bytes.
TEST(Stage3, ATracedRunSavesTheSameModelAsAnUntracedOneAndATimelinePerRank) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 256, 64);
  auto run_stage3 = [&](const std::string& out, const std::string& extra) {
    return run_command(std::string(kClearLauncherVariables) + "'" + kLaunchLocalPath +
                           "' --nproc-per-node 2 --master-port " +
                           std::to_string(tutorial::find_free_port()) + " '" + kStage3Path +
                           "' --device cpu --data-dir " + dir / "data" +
                           " --max-steps 4 --dist-timeout 60 --first-bucket-cap-mb 0.1 --output-dir " +
                           dir / out + extra,
                       dir);
  };
  const auto plain = run_stage3("plain", "");
  ASSERT_EQ(plain.exit_code, 0) << plain.out << plain.err;
  const auto traced = run_stage3("traced", " --trace " + dir / "trace/run.json" + " --trace-steps 1:3");
  ASSERT_EQ(traced.exit_code, 0) << traced.out << traced.err;
  EXPECT_NE(traced.out.find("| trace          | steps 1 to 2, to " + dir / "trace/run.rank0.json"),
            std::string::npos) << traced.out;
  EXPECT_NE(traced.out.find("Timeline of steps 1 to 2 written to " + dir / "trace/run.rank0.json"),
            std::string::npos) << traced.out;
  for (const char* rank_file : {"trace/run.rank0.json", "trace/run.rank1.json"}) {
    const std::string text = read_text(dir.path() / rank_file);
    EXPECT_NE(text.find("\"name\": \"all-reduce\""), std::string::npos) << rank_file;
  }
  EXPECT_EQ(read_text(dir.path() / "plain/model.pth"), read_text(dir.path() / "traced/model.pth"));
}

TEST(Stage3, TwoRanksStartedByTorchrun) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  if (!fs::exists("/usr/bin/torchrun")) GTEST_SKIP() << "no /usr/bin/torchrun (python3-torch)";
  TempDir dir;
  // torchrun's agent hosts the store the ranks use: its torch and this
  // build's LibTorch must speak the same store protocol (1.13's and 2.x's do not).
  const std::string torchrun_torch =
      run_command("/usr/bin/python3 -c 'import torch; print(torch.__version__[:4])'", dir).out;
  const std::string built_with = std::string(TUTORIAL_TORCH_VERSION_STRING).substr(0, 4);
  if (torchrun_torch.rfind(built_with, 0) != 0) {
    GTEST_SKIP() << "torchrun runs torch " << torchrun_torch << ", this build LibTorch "
                 << TUTORIAL_TORCH_VERSION_STRING;
  }
  write_idx_dataset(dir.path() / "data", 256, 64);
  const std::string port = std::to_string(tutorial::find_free_port());
  // Debian's torchrun 1.13 fails on Python 3.11 with its default --redirects 0
  // (Std.NONE is not iterable there); --redirects 1 --tee 1 works and prefixes
  // each line with [default<rank>]:.
  auto r = run_command(std::string(kClearLauncherVariables) +
                           "/usr/bin/torchrun --nnodes 1 --nproc_per_node 2 --redirects 1 "
                           "--tee 1 --master_addr 127.0.0.1 --master_port " + port +
                           " --no_python '" + kStage3Path + "'" + stage3_args(dir),
                       dir);
  for (const std::string prefix : {"[default0]:", "[default1]:"}) {
    for (auto at = r.out.find(prefix); at != std::string::npos; at = r.out.find(prefix)) {
      r.out.erase(at, prefix.size());
    }
  }
  expect_a_finished_two_rank_run(r, dir, "torchrun");
}

TEST(Stage3, TwoRanksStartedByMpirun) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  if (!fs::exists("/usr/bin/mpirun")) GTEST_SKIP() << "no /usr/bin/mpirun (openmpi-bin)";
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 256, 64);
  const std::string port = std::to_string(tutorial::find_free_port());
  // The program reads OMPI_COMM_WORLD_RANK etc.; it never calls MPI itself.
  // Open MPI refuses to run as root unless told twice.
  const auto r = run_command(std::string(kClearLauncherVariables) +
                                 "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
                                 "/usr/bin/mpirun -np 2 --oversubscribe -x MASTER_ADDR=127.0.0.1 "
                                 "-x MASTER_PORT=" + port + " '" + kStage3Path + "'" +
                                 stage3_args(dir),
                             dir);
  expect_a_finished_two_rank_run(r, dir, "Open MPI");
}

// Ranks started by hand (as a mistaken launch script would) with settings that
// differ: every rank stops with one line naming the setting and both values,
// before any collective (different models used to abort rank 1 in Gloo's
// enforce, "op.preamble.length <= op.nbytes", and leave rank 0 an internal error).
TEST(Stage3, RanksStartedWithDifferentSettingsStopBeforeTrainingNamingTheSetting) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 256, 64);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {" --lr 0.1", "rank 1 has --lr 0.1 but rank 0 has 0.001"},
      {" --batch-size 128", "rank 1 has --batch-size 128 but rank 0 has 64"},
      {" --model resnet20", "rank 1 has --model resnet20 but rank 0 has mlp"},
  };
  for (const auto& [rank1_options, message] : cases) {
    const std::string env = std::string(kClearLauncherVariables) +
                            "LOCAL_WORLD_SIZE=2 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
                            std::to_string(tutorial::find_free_port());
    const std::string program = " '" + std::string(kStage3Path) + "'" + stage3_args(dir);
    // Rank 0 in the background with its own stderr; rank 1's is the command's.
    const auto r = run_command("{ (" + env + " RANK=0 LOCAL_RANK=0" + program + " 2>'" +
                                   dir / "rank0.err" + "'; echo $? >'" + dir / "rank0.status" +
                                   "') & " + env + " RANK=1 LOCAL_RANK=1" + program +
                                   rank1_options + "; status=$?; wait; (exit $status); }",
                               dir);
    EXPECT_EQ(r.exit_code, 2) << rank1_options << "\n" << r.err;
    const std::string rank0_err = read_text(dir.path() / "rank0.err");
    EXPECT_EQ(read_text(dir.path() / "rank0.status"), "2\n") << rank0_err;
    for (const auto& err : {r.err, rank0_err}) {
      EXPECT_EQ(count_lines(err), 1) << rank1_options << ": " << err;
      EXPECT_NE(err.find("stage3_ddp_launched: error: " + message +
                         "; every rank must be started with the same training options"),
                std::string::npos)
          << err;
    }
  }
}

TEST(Stage3, BadLaunchEnvironmentsEndInOneLineAndExitStatus2) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 64, 16);
  BusyPort busy;
  const std::string master =
      " LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(tutorial::find_free_port());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "RANK"},  // no launcher variables at all
      {"RANK=0" + master, "WORLD_SIZE"},
      {"RANK=0 WORLD_SIZE=0" + master, "WORLD_SIZE"},
      {"RANK=2 WORLD_SIZE=2" + master, "RANK"},
      {"RANK=x WORLD_SIZE=2" + master, "RANK"},
      {"RANK=1 WORLD_SIZE=2" + master, "could not meet"},  // rank 0 never comes
      {"RANK=0 WORLD_SIZE=2" + master, "only 1 of 2 ranks joined"},  // rank 1 never comes
      {"RANK=0 LOCAL_RANK=0 WORLD_SIZE=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + busy.port(),
       "in use"},
      // A Slurm node name that only the cluster's own config knows.
      {"RANK=1 LOCAL_RANK=0 WORLD_SIZE=2 MASTER_ADDR=n1.invalid MASTER_PORT=" + busy.port(),
       "the master host 'n1.invalid' does not resolve to an address"},
  };
  for (const auto& [variables, phrase] : cases) {
    const auto r = run_command(std::string(kClearLauncherVariables) + variables + " '" +
                                   kStage3Path + "' --device cpu --dist-timeout 3 --data-dir " +
                                   dir / "data" + " --output-dir " + dir / "out",
                               dir);
    EXPECT_EQ(r.exit_code, 2) << variables << "\n" << r.out << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << variables << ": stderr is\n" << r.err;
    EXPECT_NE(r.err.find(phrase), std::string::npos) << variables << ": " << r.err;
  }
}

namespace {

// Two CPU ranks of the default job under launch_local.sh, rank 1 sent
// `signal` (kill's name for it) 3 s into training.
SignalledRun run_with_rank1_signalled(const std::string& signal, int dist_timeout_s) {
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 2048, 64);
  {
    // After exec, the shell's PID is the rank's. Signalled 2 s after the
    // output folder appears, which rank 0 makes once every rank has joined:
    // a fixed delay from the start signalled a rank still loading LibTorch
    // on a busy machine (2.11's CUDA libraries take seconds), before it joined.
    std::ofstream script(dir.path() / "rank.sh");
    script << "if [ \"$RANK\" = 1 ]; then (while [ ! -d '" << dir / "out"
           << "' ]; do sleep 0.1; done; sleep 2; kill -" << signal << " $$) & fi\n"
           << "exec '" << kStage3Path << "' --device cpu --epochs 1000 --dist-timeout "
           << dist_timeout_s << " --data-dir '" << dir / "data" << "' --output-dir '"
           << dir / "out" << "'\n";
  }
  const auto start = std::chrono::steady_clock::now();
  SignalledRun run;
  run.result = run_command(std::string(kClearLauncherVariables) + "'" + kLaunchLocalPath +
                               "' --nproc-per-node 2 --master-port " +
                               std::to_string(tutorial::find_free_port()) + " -- /bin/sh '" +
                               dir / "rank.sh" + "'",
                           dir);
  run.seconds = seconds_since(start);
  run.left_running = running_processes(
      "[s]tage3_ddp_launched --device cpu --epochs 1000 .*" + dir.path().filename().string(), dir);
  return run;
}

}  // namespace

TEST(Stage3, ARankThatStopsAnsweringIsNamedWithinTheTimeout) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  // Rank 1 is stopped, not killed: a hang.
  const SignalledRun run = run_with_rank1_signalled("STOP", 10);
  const RunResult& r = run.result;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // Rank 0's one line: which collective (the gradient all-reduce, or the
  // barrier after an epoch's checkpoint), after how long, which rank.
  EXPECT_TRUE(std::regex_search(r.err, std::regex("stage3_ddp_launched: error: rank 0: "
                                                  "[a-z -]+ timed out after 10 s: rank 1 stopped "
                                                  "answering [0-9]+ s ago")))
      << r.err;
  EXPECT_NE(r.err.find("rank 0 exited with status 2; rank 1 is stopped (SIGSTOP or a debugger): "
                       "killed"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(count_lines(r.err), 2) << r.err;
  EXPECT_LT(run.seconds, 3 + 10 + 10.0) << "the stop, --dist-timeout, and a few seconds";
  EXPECT_EQ(run.left_running, "") << "no rank is left behind, stopped or not";
}

TEST(Stage3, AnAbortedRankIsNamedWithTheLikelyCause) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  // SIGABRT: how NCCL's watchdog ends a rank stuck in a collective.
  const SignalledRun run = run_with_rank1_signalled("ABRT", 20);
  EXPECT_NE(run.result.err.find("rank 1 exited with status 134 (SIGABRT: with NCCL, a collective "
                                "that outlived --dist-timeout); stopping the other ranks"),
            std::string::npos)
      << run.result.err;
  EXPECT_EQ(run.left_running, "") << "no rank is left behind";
}

TEST(Stage3, ARankKilledMidEpochStopsTheJobWithinTheTimeout) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  const SignalledRun run = run_with_rank1_signalled("9", 20);
  EXPECT_NE(run.result.exit_code, 0);
  EXPECT_NE(run.result.err.find("rank 1 exited with status 137"), std::string::npos)
      << run.result.err;
  EXPECT_LT(run.seconds, 60.0);
  EXPECT_EQ(run.left_running, "") << "no rank is left behind";
}
