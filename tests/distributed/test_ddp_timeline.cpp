// --trace under DDP, two ranks as threads on Gloo: ResNet-20 with several
// small buckets trained through the Trainer writes, per rank, trace-event
// JSON with every span of every step in the window, bucket spans in order
// (ready <= launched <= completed), buckets launched while backward still
// computes, and the end-of-backward wait inside backward. On the CPU Gloo
// times the buckets' completion; with CUDA tensors (both ranks on GPU 0,
// still over Gloo: NCCL cannot put two ranks on one GPU) the CompletionPoller
// does, as it does for NCCL.
#include "distributed/completion_poller.h"
#include "distributed/distributed_data_parallel.h"
#include "json_value.h"
#include "models/model_factory.h"
#include "pipeline/batch_loader.h"
#include "rank_threads.h"
#include "test_files.h"
#include "timeline/timeline.h"
#include "train/engine.h"
#include "train/optimizer.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <atomic>
#include <map>

using namespace tutorial;
using namespace tutorial::testdata;

namespace {

// One step's events of one rank, by name (bucket spans by bucket).
struct StepEvents {
  std::map<std::string, std::vector<const JsonValue*>> by_name;
  std::map<int, const JsonValue*> all_reduce, ready;
};

void expect_a_two_rank_timeline(torch::Device device) {
  TempDir dir;
  constexpr int64_t kWorld = 2;
  const StepWindow window{1, 3};
  ImageDataset data;
  torch::manual_seed(5);
  data.images = torch::randint(0, 256, {128, 1, 8, 8}, torch::kLong).to(torch::kUInt8);
  data.labels = torch::randint(0, 4, {128}, torch::kLong);
  data.class_names = {"a", "b", "c", "d"};
  std::vector<Classifier> models;
  for (int64_t r = 0; r < kWorld; ++r) {
    torch::manual_seed(0);
    models.push_back(make_model("resnet20", {1, 8, 8}, 4));
    models.back()->to(device);
  }
  std::vector<int64_t> buckets(kWorld);
  run_ranks(kWorld, [&](int64_t rank, ProcessGroup& group) {
    auto& model = models[static_cast<size_t>(rank)];
    Timeline timeline(rank_trace_path(dir / "trace.json", rank), rank, kWorld, window);
    DistributedDataParallel ddp(model.module(), group,
                                DdpOptions().bucket_cap_mb(0.05).first_bucket_cap_mb(0.02));
    ddp.set_timeline(&timeline);
    buckets[static_cast<size_t>(rank)] = ddp.num_buckets();
    BatchLoader loader(data, ShardedSampler(data.size(), SamplerOptions().seed(1).shard(rank, kWorld)),
                       LoaderOptions(16).device(device));
    if (device.is_cuda()) timeline.synchronize_spans_with([] { torch::cuda::synchronize(); });
    TrainConfig config;
    auto sgd = make_sgd(model->parameters(), config);
    TrainerOptions options;
    options.log_interval = 1000;
    options.world_size = kWorld;
    Trainer trainer(*model.module(), [&](const torch::Tensor& x) { return ddp.forward(model, x); },
                    sgd, LrSchedule("constant", 1e-3, 100), BatchTransform{}, BatchTransform{},
                    options);
    trainer.set_timeline(&timeline);
    loader.start_epoch(0);
    trainer.train_epoch(loader);  // 4 steps: past the window, so the file is written
  });
  ASSERT_GE(buckets[0], 4) << "the test needs several buckets";

  for (int64_t rank = 0; rank < kWorld; ++rank) {
    SCOPED_TRACE("rank " + std::to_string(rank));
    const JsonValue trace = read_json_file(dir / ("trace.rank" + std::to_string(rank) + ".json"));
    EXPECT_EQ(trace["otherData"]["rank"].number, rank);
    EXPECT_EQ(trace["otherData"]["world_size"].number, kWorld);
    EXPECT_EQ(trace["otherData"]["backend"].text, "gloo");
    EXPECT_EQ(static_cast<int64_t>(trace["otherData"]["buckets"].items.size()), buckets[0]);
    std::map<int64_t, StepEvents> steps;
    std::map<int64_t, std::string> lane_names;
    for (const auto& e : trace["traceEvents"].items) {
      EXPECT_EQ(e["pid"].number, rank);
      if (e["ph"].text == "M") {
        if (e["name"].text == "thread_name") {
          lane_names[static_cast<int64_t>(e["tid"].number)] = e["args"]["name"].text;
        }
        continue;
      }
      const auto step = static_cast<int64_t>(e["args"]["step"].number);
      ASSERT_TRUE(window.contains(step)) << "an event of step " << step;
      auto& s = steps[step];
      s.by_name[e["name"].text].push_back(&e);
      if (e["name"].text == "all-reduce") {
        const int k = static_cast<int>(e["args"]["bucket"].number);
        EXPECT_EQ(e["tid"].number, kFirstBucketLane + k);
        EXPECT_EQ(e["ph"].text, "X");
        s.all_reduce[k] = &e;
      }
      if (e["name"].text == "bucket ready") s.ready[static_cast<int>(e["args"]["bucket"].number)] = &e;
    }
    EXPECT_EQ(lane_names[kDataLane], "data");
    EXPECT_EQ(lane_names[kComputeLane], "compute");
    EXPECT_EQ(lane_names[kFirstBucketLane].rfind("bucket 0 (", 0), 0u) << lane_names[kFirstBucketLane];
    ASSERT_EQ(steps.size(), 2u);
    for (auto& [step, s] : steps) {
      SCOPED_TRACE("step " + std::to_string(step));
      for (const char* name : {"load batch", "forward", "backward", "optimizer step", "all-reduce wait"}) {
        ASSERT_EQ(s.by_name[name].size(), 1u) << name;
      }
      ASSERT_EQ(static_cast<int64_t>(s.all_reduce.size()), buckets[0]);
      ASSERT_EQ(static_cast<int64_t>(s.ready.size()), buckets[0]);
      const JsonValue& backward = *s.by_name["backward"][0];
      const JsonValue& wait = *s.by_name["all-reduce wait"][0];
      const double backward_end = backward["ts"].number + backward["dur"].number;
      // The wait starts once every gradient is computed and lies inside backward.
      EXPECT_GE(wait["ts"].number, backward["ts"].number);
      EXPECT_LE(wait["ts"].number + wait["dur"].number, backward_end + 0.01);
      const JsonValue& forward = *s.by_name["forward"][0];
      EXPECT_LE(forward["ts"].number + forward["dur"].number, backward["ts"].number + 0.01);
      double previous_launch = 0;
      for (const auto& [k, span] : s.all_reduce) {
        const JsonValue& ar = *span;
        const double ready = ar["args"]["ready_ts"].number, launched = ar["ts"].number,
                     completed = launched + ar["dur"].number;
        EXPECT_NEAR((*s.ready[k])["ts"].number, ready, 0.01);
        EXPECT_LE(ready, launched) << "bucket " << k;
        EXPECT_LE(launched, completed) << "bucket " << k;
        EXPECT_GE(launched, previous_launch) << "buckets launch in order";
        EXPECT_GE(launched, backward["ts"].number) << "bucket " << k;
        // Completed before the wait ended (it waited for every bucket).
        EXPECT_LE(completed, wait["ts"].number + wait["dur"].number + 0.01) << "bucket " << k;
        EXPECT_GT(ar["args"]["bytes"].number, 0);
        previous_launch = launched;
      }
      // The point of buckets: the first all-reduce starts while backward still computes.
      EXPECT_LT((*s.all_reduce.begin()->second)["ts"].number, wait["ts"].number);
    }
  }
}

}  // namespace

TEST(DdpTimeline, TwoRanksWriteEverySpanOfTheWindowWithBucketsLaunchedDuringBackward) {
  expect_a_two_rank_timeline(torch::kCPU);
}

TEST(DdpTimelineCuda, TwoRanksOnOneGpuOverGlooRecordWhenEachBucketCompletes) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  expect_a_two_rank_timeline(torch::Device(torch::kCUDA, 0));
}

// The poller calls a work's function only once the work is done: rank 0's
// all-reduce cannot complete before rank 1, 200 ms late, has launched its own.
TEST(CompletionPoller, CallsItsFunctionOnceTheCollectiveHasCompleted) {
  using Clock = std::chrono::steady_clock;
  std::atomic<int64_t> rank1_launch{0}, rank0_completion{0};
  run_ranks(2, [&](int64_t rank, ProcessGroup& group) {
    auto since_epoch = [] { return Clock::now().time_since_epoch().count(); };
    std::vector<torch::Tensor> tensors{torch::ones({1000})};
    if (rank == 1) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      rank1_launch = since_epoch();
    }
    auto work = group.collectives().allreduce(tensors);
    if (rank == 0) {
      std::atomic<bool> called{false};
      CompletionPoller poller;
      poller.watch(work, [&] {
        rank0_completion = since_epoch();
        called = true;
      });
      work->wait();
      const auto deadline = Clock::now() + std::chrono::seconds(10);
      while (!called && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      EXPECT_TRUE(called);
    } else {
      work->wait();
    }
    EXPECT_EQ(tensors[0][0].item<float>(), 2.0f);
  });
  EXPECT_GT(rank1_launch.load(), 0);
  EXPECT_GE(rank0_completion.load(), rank1_launch.load());
}
