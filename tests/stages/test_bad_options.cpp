// Every option of every stage given bad values, and every launcher variable
// stage 3 reads: exit status 2 and one line on stderr naming the problem,
// never "internal error", "terminate called" or a signal. The table below
// must cover every option of command_line_options(): an option added without
// bad values of its own fails TheTableCoversEveryOption.
#include "distributed/network.h"
#include "stage_paths.h"
#include "stage_runner.h"
#include "test_files.h"
#include "train/command_line_options.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace tutorial::testdata;
namespace fs = std::filesystem;

namespace {

struct BadValue {
  std::string value;   // a flag's is given as --NAME=VALUE
  std::string phrase;  // what the one line must contain
};

// Values that are wrong on every machine (with or without a GPU), by option.
const std::map<std::string, std::vector<BadValue>>& bad_values() {
  static const std::map<std::string, std::vector<BadValue>> table = {
      {"data-dir", {{"/nowhere", "data directory /nowhere does not exist"}}},
      {"dataset", {{"imagenet", "imagenet"}}},
      {"augment", {{"maybe", "--augment"}}},
      {"model", {{"vgg16", "--model"}}},
      {"epochs", {{"0", "--epochs"}, {"x", "--epochs"}}},
      {"batch-size", {{"0", "--batch-size"}, {"99999999999999999999", "--batch-size"}}},
      {"accumulate-steps", {{"0", "--accumulate-steps"}, {"3", "--accumulate-steps 3"}}},
      {"lr", {{"-1", "--lr"}, {"nan", "--lr"}, {"fast", "--lr"}}},
      {"momentum", {{"1.5", "--momentum"}}},
      {"nesterov", {{"maybe", "--nesterov"}}},
      {"weight-decay", {{"-1", "--weight-decay"}}},
      {"schedule", {{"linear", "--schedule"}}},
      {"warmup-epochs", {{"1", "--warmup-epochs"}, {"-1", "--warmup-epochs"}}},
      {"label-smoothing", {{"1", "--label-smoothing"}}},
      {"seed", {{"-1", "--seed"}}},
      {"max-steps", {{"-1", "--max-steps"}}},
      {"device", {{"tpu", "--device"}, {"cuda:x", "--device"}, {"cuda:99", "cuda:99"}}},
      {"threads", {{"-1", "--threads"}, {"100000", "--threads"}}},
      {"prefetch", {{"-1", "--prefetch"}}},
      {"devices", {{"a,b", "--devices"}, {"99", "--devices"}}},
      {"amp", {{"maybe", "--amp"}}},
      {"amp-dtype", {{"fp8", "--amp-dtype"}}},
      {"channels-last", {{"maybe", "--channels-last"}}},
      {"data-on-device", {{"maybe", "--data-on-device"}}},
      {"cuda-graph", {{"maybe", "--cuda-graph"}}},
      {"backend", {{"mpi", "--backend"}}},
      {"dist-timeout", {{"0", "--dist-timeout"}, {"9999999999999999", "--dist-timeout"}}},
      {"sync-bn", {{"maybe", "--sync-bn"}}},
      {"bucket-cap-mb", {{"0", "--bucket-cap-mb"}, {"-1", "--bucket-cap-mb"}, {"inf", "--bucket-cap-mb"}}},
      {"first-bucket-cap-mb", {{"0", "--first-bucket-cap-mb"}}},
      {"trace", {{"/proc/forbidden/trace.json", "--trace: cannot create /proc/forbidden"}}},
      {"trace-steps", {{"5:2", "--trace-steps 5:2: must be FIRST:END"}, {"x", "--trace-steps"}}},
      {"nodes", {{"0", "--nodes"}, {"9999999999", "--nodes"}}},
      {"nproc-per-node", {{"0", "--nproc-per-node"}, {"100000", "--nproc-per-node"}}},
      {"node-rank", {{"1", "--node-rank"}}},
      {"master-addr", {{"", "--master-addr"}}},
      {"master-port", {{"70000", "--master-port"}}},
      {"output-dir", {{"", "--output-dir"}, {"/proc/forbidden", "--output-dir /proc/forbidden"}}},
      {"log-interval", {{"0", "--log-interval"}}},
      {"no-progress", {{"maybe", "--no-progress"}}},
      {"checkpoint-every", {{"-1", "--checkpoint-every"}}},
      {"keep-checkpoints", {{"0", "--keep-checkpoints"}}},
      {"resume", {{"", "--resume"}, {"/nowhere/step.pt", "/nowhere/step.pt"}}},
  };
  return table;
}

struct Stage {
  std::string program;
  tutorial::CommandLineFeatures features;
};

Stage stage(int number) {
  using tutorial::CommandLineFeatures;
  switch (number) {
    case 1:
      return {kStage1Path, CommandLineFeatures()};
    case 2:
      return {kStage2Path, CommandLineFeatures().device_list(true)};
    case 3:
      return {kStage3Path, CommandLineFeatures().distributed(true)};
    default:
      return {kStage4Path, CommandLineFeatures().distributed(true).spawn(true)};
  }
}

bool offered(const Stage& tested, const std::string& name) {
  for (const auto& option : tutorial::command_line_options()) {
    if (option.name == name) return tutorial::offers(tested.features, option.feature);
  }
  return false;
}

std::string quoted(const std::string& text) { return "'" + text + "'"; }

// What a user error must look like: one line, status 2, no crash.
void expect_one_line_user_error(const RunResult& r, const std::string& phrase,
                                const std::string& what) {
  EXPECT_EQ(r.exit_code, 2) << what << "\n" << r.out << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << what << ": stderr is\n" << r.err;
  EXPECT_NE(r.err.find(": error: "), std::string::npos) << what << ": " << r.err;
  EXPECT_NE(r.err.find(phrase), std::string::npos) << what << ": " << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << what << ": " << r.err;
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << what << ": " << r.err;
}

// The environment of a lone rank started as torchrun starts one.
std::string torchrun_variables() {
  return std::string(kClearLauncherVariables) +
         "RANK=0 LOCAL_RANK=0 WORLD_SIZE=1 LOCAL_WORLD_SIZE=1 MASTER_ADDR=127.0.0.1 "
         "MASTER_PORT=" +
         std::to_string(tutorial::find_free_port()) + " ";
}

class BadOptionValues : public testing::TestWithParam<int> {};

}  // namespace

TEST(BadOptions, TheTableCoversEveryOption) {
  std::set<std::string> options;
  for (const auto& option : tutorial::command_line_options()) {
    options.insert(option.name);
    EXPECT_EQ(bad_values().count(option.name), 1u) << "--" << option.name << " has no bad values";
  }
  for (const auto& [name, values] : bad_values()) {
    EXPECT_EQ(options.count(name), 1u) << "--" << name << " is no longer an option";
  }
}

TEST_P(BadOptionValues, EachEndsInOneLineAndExitStatus2) {
  if (GetParam() >= 3) TUTORIAL_SKIP_WITHOUT_GLOO();
  const Stage tested = stage(GetParam());
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 64, 16);
  // A short, good run, should a bad value be taken for a good one.
  const std::map<std::string, std::string> good = {
      {"data-dir", (dir.path() / "data").string()},
      {"output-dir", (dir.path() / "out").string()},
      {"epochs", "1"},
      {"max-steps", "1"},
      {"device", "cpu"},
      {"dist-timeout", "20"},
      {"nproc-per-node", "2"},  // stage 4: both workers meet the same error
  };
  int cases = 0;
  for (const auto& option : tutorial::command_line_options()) {
    if (!tutorial::offers(tested.features, option.feature)) continue;
    const auto found = bad_values().find(option.name);
    if (found == bad_values().end()) continue;  // TheTableCoversEveryOption says so
    for (const BadValue& bad : found->second) {
      std::string args = option.is_flag ? " --" + option.name + "=" + bad.value
                                        : " --" + option.name + " " + quoted(bad.value);
      for (const auto& [name, value] : good) {
        if (name != option.name && offered(tested, name)) args += " --" + name + " " + quoted(value);
      }
      const std::string variables = GetParam() == 3 ? torchrun_variables() : "";
      const auto r = run_command(variables + quoted(tested.program) + args, dir);
      expect_one_line_user_error(r, bad.phrase, args);
      ++cases;
    }
  }
  EXPECT_GE(cases, 30) << "the loop ran over the table";
}

INSTANTIATE_TEST_SUITE_P(Stages, BadOptionValues, testing::Values(1, 2, 3, 4),
                         [](const testing::TestParamInfo<int>& param_info) {
                           return "Stage" + std::to_string(param_info.param);
                         });

// Each variable a launcher sets (torchrun, srun, mpirun), bad in an otherwise
// good environment for a lone rank of stage 3.
TEST(BadOptions, BadLauncherVariablesEndInOneLineAndExitStatus2) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 64, 16);
  const std::string port = std::to_string(tutorial::find_free_port());
  const std::string slurm = std::string(kClearLauncherVariables) +
                            "SLURM_PROCID=0 SLURM_NTASKS=1 SLURM_LOCALID=0 SLURM_NODEID=0 "
                            "SLURM_TASKS_PER_NODE=1 SLURM_NODELIST=localhost MASTER_PORT=" +
                            port + " ";
  const std::string open_mpi = std::string(kClearLauncherVariables) +
                               "OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_SIZE=1 "
                               "OMPI_COMM_WORLD_LOCAL_RANK=0 OMPI_COMM_WORLD_LOCAL_SIZE=1 "
                               "MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
                               port + " ";
  // A variable set again after the launcher's good ones takes their place.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {torchrun_variables() + "RANK=x", "RANK"},
      {torchrun_variables() + "RANK=-1", "RANK"},
      {torchrun_variables() + "RANK=1", "RANK"},
      {torchrun_variables() + "LOCAL_RANK=x", "LOCAL_RANK"},
      {torchrun_variables() + "WORLD_SIZE=0", "WORLD_SIZE"},
      {torchrun_variables() + "WORLD_SIZE=99999999999999999999", "WORLD_SIZE"},
      {torchrun_variables() + "LOCAL_WORLD_SIZE=0", "LOCAL_WORLD_SIZE"},
      {torchrun_variables() + "MASTER_ADDR=", "MASTER_ADDR"},
      {torchrun_variables() + "MASTER_ADDR=n1.invalid", "'n1.invalid' does not resolve"},
      {torchrun_variables() + "MASTER_PORT=70000", "MASTER_PORT"},
      {torchrun_variables() + "MASTER_PORT=x", "MASTER_PORT"},
      {slurm + "SLURM_PROCID=x", "SLURM_PROCID"},
      {slurm + "SLURM_NTASKS=0", "SLURM_NTASKS"},
      {slurm + "SLURM_LOCALID=x", "SLURM_LOCALID"},
      {slurm + "SLURM_TASKS_PER_NODE='2(x'", "SLURM_TASKS_PER_NODE"},
      {slurm + "SLURM_NODELIST='n[1-'", "SLURM_NODELIST"},
      {open_mpi + "OMPI_COMM_WORLD_RANK=x", "OMPI_COMM_WORLD_RANK"},
      {open_mpi + "OMPI_COMM_WORLD_SIZE=0", "OMPI_COMM_WORLD_SIZE"},
      {open_mpi + "OMPI_COMM_WORLD_LOCAL_RANK=x", "OMPI_COMM_WORLD_LOCAL_RANK"},
      {open_mpi + "OMPI_COMM_WORLD_LOCAL_SIZE=0", "OMPI_COMM_WORLD_LOCAL_SIZE"},
  };
  for (const auto& [variables, phrase] : cases) {
    const auto r = run_command(variables + " " + quoted(kStage3Path) +
                                   " --device cpu --max-steps 1 --dist-timeout 5 --data-dir " +
                                   quoted((dir.path() / "data").string()) + " --output-dir " +
                                   quoted((dir.path() / "out").string()),
                               dir);
    expect_one_line_user_error(r, phrase, variables);
  }
}
