// Stage 5: scripts/slurm_stage3.sbatch under a real Slurm cluster that each
// test starts on this machine (scripts/slurm_local.sh) and stops: one node
// with two tasks and two nodes with one task each train as the project's own
// launcher does, bit for bit; a preempted job saves, requeues itself and
// resumes to the same model; a new job never continues an older job's run.
// Skipped where Slurm is not installed (scripts/install_deps.sh installs it).
#include "distributed/network.h"
#include "stage_paths.h"
#include "stage_runner.h"
#include "test_files.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

using namespace tutorial::testdata;
namespace fs = std::filesystem;

namespace {

bool port_is_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return free;
}

// A port P with P+1 and P+2 free too: slurmctld's and the two nodes'.
int free_port_block() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int port = tutorial::find_free_port();
    if (port <= 65533 && port_is_free(port + 1) && port_is_free(port + 2)) return port;
  }
  return 0;
}

// The training job every test runs: small, on the CPU, one thread per rank
// (bit-for-bit comparisons need the same thread count in both runs).
std::string job_options(const fs::path& data, int64_t epochs) {
  return "--device cpu --threads 1 --no-progress --log-interval 4 --epochs " +
         std::to_string(epochs) + " --data-dir '" + data.string() + "'";
}

// CPU-only: sbatch's own options override the script's GPU requests.
const std::string kOneNodeTwoTasks =
    "--nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --gpus-per-node=0";
const std::string kTwoNodesOneTaskEach =
    "--nodes=2 --ntasks-per-node=1 --cpus-per-task=1 --gpus-per-node=0";

class Slurm : public testing::Test {
 protected:
  void SetUp() override {
    TUTORIAL_SKIP_WITHOUT_GLOO();
    for (const char* program : {"slurmctld", "slurmd", "munged", "sbatch"}) {
      if (run_command(std::string("command -v ") + program, dir_).exit_code != 0) {
        GTEST_SKIP() << program << " is not installed (scripts/install_deps.sh installs Slurm)";
      }
    }
    jobs_ = dir_.path() / "jobs";
    fs::create_directories(jobs_);
    data_ = dir_.path() / "data";
    write_idx_dataset(data_, 512, 64);
    start_cluster();
  }

  void TearDown() override {
    if (started_) {
      run_command("'" + slurm_local() + "' stop --dir '" + (dir_.path() / "slurm").string() + "'",
                  dir_);
    }
  }

  static std::string slurm_local() { return fs::path(kLaunchLocalPath).parent_path() / "slurm_local.sh"; }

  // Two nodes, n1 and n2: a job picks one or both.
  void start_cluster() {
    const int port = free_port_block();
    ASSERT_NE(port, 0) << "no three free ports in a row";
    const auto r = run_command("'" + slurm_local() + "' start --nodes 2 --dir '" +
                                   (dir_.path() / "slurm").string() + "' --port " +
                                   std::to_string(port),
                               dir_);
    started_ = true;
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    ASSERT_NE(r.out.find("export SLURM_CONF="), std::string::npos) << r.out;
    slurm_env_ = "SLURM_CONF='" + (dir_.path() / "slurm" / "slurm.conf").string() + "' ";
  }

  // A Slurm command run from the jobs' folder, with this cluster's config.
  RunResult slurm(const std::string& command) {
    return run_command("cd '" + jobs_.string() + "' && " + kClearLauncherVariables + slurm_env_ +
                           "STAGE3='" + kStage3Path + "' " + command,
                       dir_);
  }

  // Submits the batch script; returns the job id.
  std::string submit(const std::string& sbatch_options, const std::string& stage_options) {
    const auto r = slurm("sbatch --parsable " + sbatch_options + " '" + script() + "' " +
                         stage_options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string id = r.out.substr(0, r.out.find_first_of(";\n"));
    return id;
  }

  static std::string script() {
    return (fs::path(kLaunchLocalPath).parent_path() / "slurm_stage3.sbatch").string();
  }

  // JobState=..., Restarts=..., NodeList=... of `scontrol show job`.
  std::string job_field(const std::string& id, const std::string& field) {
    const std::string text = slurm("scontrol show job " + id).out;
    std::smatch match;
    if (std::regex_search(text, match, std::regex("(^|\\s)" + field + "=(\\S+)"))) return match[2];
    return "";
  }

  // Waits until the job has ended for good (not requeued); returns its state.
  std::string wait_for_end(const std::string& id, double limit_s = 150) {
    const auto start = std::chrono::steady_clock::now();
    std::string state;
    while (seconds_since(start) < limit_s) {
      state = job_field(id, "JobState");
      if (state == "COMPLETED" || state == "FAILED" || state == "CANCELLED" ||
          state == "TIMEOUT" || state == "NODE_FAIL" || state == "OUT_OF_MEMORY") {
        return state;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    slurm("scancel " + id);
    return "still " + state + " after " + std::to_string(static_cast<int>(limit_s)) +
           " s (Reason=" + job_field(id, "Reason") + ")";
  }

  fs::path log_of(const std::string& id) const { return jobs_ / ("ddp-stage3-" + id + ".out"); }
  fs::path model_of(const std::string& id) const {
    return jobs_ / "output" / ("ddp-stage3-" + id) / "model.pth";
  }

  // The same job under the project's own launcher: the model to compare with.
  std::string reference_model(int64_t epochs) {
    const auto out = dir_.path() / ("reference-" + std::to_string(epochs));
    const auto r = run_command(std::string(kClearLauncherVariables) + "'" + kLaunchLocalPath +
                                   "' --nproc-per-node 2 --master-port " +
                                   std::to_string(tutorial::find_free_port()) + " '" +
                                   kStage3Path + "' " + job_options(data_, epochs) +
                                   " --output-dir '" + out.string() + "'",
                               dir_);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return read_text(out / "model.pth");
  }

  TempDir dir_;
  fs::path jobs_, data_;
  std::string slurm_env_;
  bool started_ = false;
};

TEST_F(Slurm, OneNodeWithTwoTasksTrainsAsTheLocalLauncherDoes) {
  const std::string id = submit(kOneNodeTwoTasks, job_options(data_, 2));
  ASSERT_EQ(wait_for_end(id), "COMPLETED") << read_text(log_of(id));
  const std::string log = read_text(log_of(id));
  EXPECT_NE(log.find("| world size     | 2 (Slurm, backend gloo)"), std::string::npos) << log;
  EXPECT_EQ(log.find("Done!"), log.rfind("Done!")) << "only rank 0 prints\n" << log;
  ASSERT_TRUE(fs::exists(model_of(id))) << log;
  EXPECT_TRUE(read_text(model_of(id)) == reference_model(2))
      << "the model differs from scripts/launch_local.sh's of the same job";
}

TEST_F(Slurm, TwoNodesWithOneTaskEachTrainAsOneNodeWithTwo) {
  // n1 and n2 do not resolve: the master is reached at the first node's address.
  const std::string id = submit(kTwoNodesOneTaskEach, job_options(data_, 2));
  ASSERT_EQ(wait_for_end(id), "COMPLETED") << read_text(log_of(id));
  EXPECT_EQ(job_field(id, "NodeList"), "n[1-2]");
  ASSERT_TRUE(fs::exists(model_of(id))) << read_text(log_of(id));
  EXPECT_TRUE(read_text(model_of(id)) == reference_model(2))
      << "the model differs from one node's with two tasks";
}

// scancel -s USR1 signals the tasks; with --batch only the batch script,
// which must pass it on (or die, and the job with it, without a checkpoint).
class SlurmPreemption : public Slurm, public testing::WithParamInterface<std::string> {};

TEST_P(SlurmPreemption, AStoppedJobSavesRequeuesItselfAndEndsWithTheUninterruptedModel) {
  const int64_t epochs = 60;  // 480 steps: a few seconds, stopped early on
  const std::string id = submit(kOneNodeTwoTasks, job_options(data_, epochs));
  const auto start = std::chrono::steady_clock::now();
  while (read_text(log_of(id)).find("loss:") == std::string::npos && seconds_since(start) < 60) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(read_text(log_of(id)).find("loss:"), std::string::npos) << "training never started";
  ASSERT_EQ(slurm("scancel " + GetParam() + " " + id).exit_code, 0);

  ASSERT_EQ(wait_for_end(id), "COMPLETED") << read_text(log_of(id));
  const std::string log = read_text(log_of(id));
  EXPECT_EQ(job_field(id, "Restarts"), "1") << log;
  EXPECT_NE(log.find("Stopped by User defined signal 1 at step "), std::string::npos) << log;
  EXPECT_NE(log.find("stopped with a checkpoint: requeueing job " + id), std::string::npos) << log;
  EXPECT_NE(log.find("Resuming from output/ddp-stage3-" + id + "/checkpoints/step-"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("Done!"), log.rfind("Done!")) << log;
  ASSERT_TRUE(fs::exists(model_of(id))) << log;
  EXPECT_TRUE(read_text(model_of(id)) == reference_model(epochs))
      << "the resumed job's model differs from an uninterrupted run's";
}

INSTANTIATE_TEST_SUITE_P(Signals, SlurmPreemption,
                         testing::Values("--signal=USR1", "--batch --signal=USR1"),
                         [](const testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param == "--signal=USR1" ? "ToTheTasks"
                                                                      : "ToTheBatchScriptOnly";
                         });

TEST_F(Slurm, ANewJobNeverContinuesNorAppendsToAnOlderJobWithTheSameId) {
  const std::string first = submit(kOneNodeTwoTasks, job_options(data_, 1));
  ASSERT_EQ(wait_for_end(first), "COMPLETED") << read_text(log_of(first));
  const std::string first_model = read_text(model_of(first));
  ASSERT_FALSE(first_model.empty());

  // A new cluster (its job ids start again) and the same submission.
  TearDown();
  start_cluster();
  const std::string second = submit(kOneNodeTwoTasks, job_options(data_, 1));
  ASSERT_EQ(second, first) << "a new cluster's first job id";
  EXPECT_EQ(wait_for_end(second), "FAILED");
  EXPECT_EQ(job_field(second, "ExitCode"), "2:0");
  const std::string log = read_text(log_of(second));
  EXPECT_EQ(log,
            "slurm_stage3.sbatch: output/ddp-stage3-" + first +
                " holds an earlier job's run: remove it, or set OUTPUT_DIR\n")
      << "the old job's lines are gone, and nothing ran";
  EXPECT_TRUE(read_text(model_of(first)) == first_model) << "the older run is left as it was";
}

}  // namespace
