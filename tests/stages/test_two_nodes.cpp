// Two nodes on one machine: two network namespaces joined by a veth pair
// (tests/stages/two_netns_nodes.sh), one launcher in each, rank 0's node as
// master. The run must complete and save the very model a one-node run of
// the same two ranks saves. Skipped, with the reason, where the namespaces
// cannot be made.
#include "distributed/network.h"
#include "stage_paths.h"
#include "stage_runner.h"
#include "test_files.h"

#include <gtest/gtest.h>

using namespace tutorial::testdata;
namespace fs = std::filesystem;

namespace {

constexpr int kSkipStatus = 77;

// One thread per rank in both runs: a rank's default is the cores over the
// ranks on its node, and OpenBLAS's OpenMP build splits a matrix product by
// thread count, which moves the last bit of some gradients.
std::string job_args(const TempDir& dir, const std::string& output_dir) {
  return " --device cpu --threads 1 --data-dir '" + dir / "data" +
         "' --max-steps 6 --log-interval 1 --dist-timeout 60 --output-dir '" + output_dir + "'";
}

// Runs `node_command` in both namespaces; NODE_RANK and MASTER_ADDR are set there.
RunResult run_on_two_nodes(const std::string& node_command, const TempDir& dir) {
  return run_command("'" + std::string(kTwoNetnsNodesPath) + "' '" + dir / "node1.log" + "' \"" +
                         node_command + "\"",
                     dir);
}

void expect_same_run(const RunResult& two_nodes, const RunResult& one_node, const TempDir& dir) {
  ASSERT_EQ(one_node.exit_code, 0) << one_node.out << one_node.err;
  ASSERT_EQ(two_nodes.exit_code, 0) << two_nodes.out << two_nodes.err << "node 1:\n"
                                    << read_text(dir.path() / "node1.log");
  EXPECT_NE(two_nodes.out.find("| world size     | 2"), std::string::npos) << two_nodes.out;
  // Rank 1 runs on node 1 and prints nothing.
  EXPECT_EQ(read_text(dir.path() / "node1.log"), "");
  const auto from = [](const std::string& log) { return log.substr(log.find("Epoch 1")); };
  const auto until_timing = [&](const std::string& log) {
    const std::string text = from(log);
    return text.substr(0, text.find("Epoch time"));
  };
  EXPECT_EQ(until_timing(two_nodes.out), until_timing(one_node.out));
  EXPECT_EQ(read_text(dir.path() / "two" / "model.pth"),
            read_text(dir.path() / "one" / "model.pth"))
      << "the two-node run saves the one-node run's model, byte for byte";
}

}  // namespace

TEST(TwoNodes, Stage3WithOneShellLauncherPerNodeMatchesOneNode) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 512, 64);
  const std::string stage3 = std::string("'") + kStage3Path + "'";
  const std::string launcher = std::string("'") + kLaunchLocalPath + "'";
  const auto two_nodes = run_on_two_nodes(
      launcher + " --nproc-per-node 1 --nnodes 2 --node-rank \\$NODE_RANK --master-addr "
                 "\\$MASTER_ADDR --master-port 29500 " +
          stage3 + job_args(dir, dir / "two"),
      dir);
  if (two_nodes.exit_code == kSkipStatus) GTEST_SKIP() << two_nodes.err;
  const auto one_node =
      run_command(launcher + " --nproc-per-node 2 --master-port " +
                      std::to_string(tutorial::find_free_port()) + " " + stage3 +
                      job_args(dir, dir / "one"),
                  dir);
  expect_same_run(two_nodes, one_node, dir);
}

TEST(TwoNodes, Stage4WithOneParentPerNodeMatchesOneNode) {
  TUTORIAL_SKIP_WITHOUT_GLOO();
  TempDir dir;
  write_idx_dataset(dir.path() / "data", 512, 64);
  const std::string stage4 = std::string("'") + kStage4Path + "'";
  const auto two_nodes = run_on_two_nodes(
      stage4 + " --nodes 2 --nproc-per-node 1 --node-rank \\$NODE_RANK --master-addr "
               "\\$MASTER_ADDR --master-port 29500" +
          job_args(dir, dir / "two"),
      dir);
  if (two_nodes.exit_code == kSkipStatus) GTEST_SKIP() << two_nodes.err;
  const auto one_node = run_command(stage4 + " --nproc-per-node 2" + job_args(dir, dir / "one"), dir);
  expect_same_run(two_nodes, one_node, dir);
}
