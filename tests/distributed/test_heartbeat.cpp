// The ranks' heartbeats, and what a rank says when a collective fails: the
// rank that stopped beating is named; with every rank alive, the likely
// cause is said instead; NCCL's error handling is switched on where
// LibTorch leaves it off.
#include "distributed/heartbeat.h"
#include "distributed/network.h"
#include "distributed/process_group.h"

#include "build_config.h"
#include "user_error_assertions.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <gtest/gtest.h>

#include <map>
#include <thread>

using namespace tutorial;
using tutorial::testdata::throws_user_error;

namespace {

constexpr std::chrono::milliseconds kPeriod{200};

c10::intrusive_ptr<c10d::Store> store_on(int port, bool server) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(port);
  options.isServer = server;
  options.waitWorkers = false;
  options.timeout = std::chrono::seconds(2);
  return c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
}

}  // namespace

TEST(Heartbeat, ARankThatStopsBeatingIsNamedAndTheOthersAreNot) {
  const int port = find_free_port();
  auto server = store_on(port, true);
  Heartbeat rank0(store_on(port, false), 0, 3, kPeriod);
  auto rank1 = std::make_unique<Heartbeat>(store_on(port, false), 1, 3, kPeriod);
  Heartbeat rank2(store_on(port, false), 2, 3, kPeriod);
  EXPECT_TRUE(rank0.silent_ranks().empty()) << "every rank beats";

  rank1.reset();  // as a stopped or killed process: no more beats
  const auto start = std::chrono::steady_clock::now();
  const std::vector<SilentRank> silent = rank0.silent_ranks();
  ASSERT_EQ(silent.size(), 1u);
  EXPECT_EQ(silent[0].rank, 1);
  EXPECT_GE(silent[0].seconds, 0.4);
  EXPECT_LT(silent[0].seconds, 5.0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0);
  const auto seen_by_rank2 = rank2.silent_ranks();
  ASSERT_EQ(seen_by_rank2.size(), 1u);
  EXPECT_EQ(seen_by_rank2[0].rank, 1);
}

TEST(Heartbeat, AStoreThatIsGoneIsAnError) {
  const int port = find_free_port();
  auto server = store_on(port, true);
  Heartbeat rank0(store_on(port, false), 0, 2, kPeriod);
  Heartbeat rank1(store_on(port, false), 1, 2, kPeriod);
  server.reset();  // rank 0's process, which hosts the store, ended
  EXPECT_ANY_THROW(rank1.silent_ranks());
}

TEST(ProcessGroup, ACollectiveThatNotEveryRankJoinsSaysEveryRankIsAlive) {
  if (!TUTORIAL_WITH_GLOO) GTEST_SKIP() << "this LibTorch has no Gloo headers";
  const int port = find_free_port();
  std::string rank0_error;
  std::thread rank1([&] {
    LaunchEnv env{Launcher::kTorchrun, 1, 1, 2, 2, "127.0.0.1", port};
    ProcessGroup group(env, "gloo", torch::kCPU, std::chrono::seconds(2));
    // Skips the all-reduce rank 0 waits in, and stays alive meanwhile.
    std::this_thread::sleep_for(std::chrono::seconds(6));
  });
  {
    LaunchEnv env{Launcher::kTorchrun, 0, 0, 2, 2, "127.0.0.1", port};
    ProcessGroup group(env, "gloo", torch::kCPU, std::chrono::seconds(2));
    auto one = torch::ones({1});
    EXPECT_TRUE(throws_user_error([&] { group.all_reduce_sum(one); },
                                  {"rank 0: an all-reduce timed out after 2 s though every rank "
                                   "is alive: do all ranks run the same steps"}));
  }
  rank1.join();
}

TEST(ProcessGroup, NcclErrorHandlingIsSwitchedOnWhereLibTorchLeavesItOff) {
  std::map<std::string, std::string> vars;
  const EnvLookup env = [&](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  const auto setting = nccl_error_handling_setting(env, /*on_by_default=*/false);
  ASSERT_TRUE(setting.has_value());
  EXPECT_EQ(setting->first, "NCCL_ASYNC_ERROR_HANDLING");
  EXPECT_EQ(setting->second, "1");
  EXPECT_FALSE(nccl_error_handling_setting(env, /*on_by_default=*/true).has_value());
  for (const char* users : {"NCCL_ASYNC_ERROR_HANDLING", "TORCH_NCCL_ASYNC_ERROR_HANDLING"}) {
    vars = {{users, "0"}};
    EXPECT_FALSE(nccl_error_handling_setting(env, false).has_value()) << users << " is the user's";
  }
}
