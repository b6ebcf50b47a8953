// When collectives complete, for the timeline of a run on GPUs: NCCL's future
// completes as soon as the collective is queued, so the poller asks each
// watched Work (Work::isCompleted, which reads its CUDA events) every 20
// microseconds, on a thread of its own, and calls its function once it is done.
// DistributedDataParallel uses one only while a timeline records a CUDA
// run's buckets (on CPUs Gloo completes the future itself).
#pragma once

#include "distributed/process_group.h"  // c10d::Work, as LibTorch 1.13 and 2.x place it

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tutorial {

class CompletionPoller {
 public:
  CompletionPoller();
  // Stops the thread; functions of works not yet complete are not called.
  ~CompletionPoller();
  CompletionPoller(const CompletionPoller&) = delete;
  CompletionPoller& operator=(const CompletionPoller&) = delete;

  // Calls on_completion (on the poller's thread) soon after `work` completes.
  void watch(c10::intrusive_ptr<c10d::Work> work, std::function<void()> on_completion);

 private:
  struct Watched {
    c10::intrusive_ptr<c10d::Work> work;
    std::function<void()> on_completion;
  };
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<Watched> watched_;
  std::thread thread_;  // last: starts once the members it uses exist
};

}  // namespace tutorial
