// A timeline of what one rank does during a window of training steps:
// spans (forward, backward, each gradient bucket's all-reduce, the wait at
// the end of backward, the optimizer step, batch loading), written as
// Chrome's trace-event JSON, which Perfetto (ui.perfetto.dev) and
// chrome://tracing open directly: one process per rank, one thread per lane.
// scripts/plot_timeline.py draws the ranks' files as one picture and measures
// how much of the gradient all-reduce backward hides.
//
// Recording is for the steps of the window only; outside it, and with no
// Timeline at all (no --trace), the recording calls return at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace tutorial {

// Steps [first, end), counted from 0: --trace-steps 10:15 is steps 10 to 14.
struct StepWindow {
  int64_t first = 10;
  int64_t end = 15;
  bool contains(int64_t step) const { return step >= first && step < end; }
};

// "10:15" as a window; throws UserError naming --NAME otherwise.
StepWindow parse_step_window(const std::string& name, const std::string& text);

// The file rank `rank` writes for --trace PATH: trace.json -> trace.rank0.json.
std::string rank_trace_path(const std::string& path, int64_t rank);

// Lanes (trace-event threads): one for batches, one for computation, one per bucket.
enum TimelineLane : int64_t { kDataLane = 1, kComputeLane = 2, kFirstBucketLane = 100 };

class Timeline {
 public:
  using Clock = std::chrono::steady_clock;

  // Rank `rank` of `world_size` records `window` into `path` (rank_trace_path).
  Timeline(std::string path, int64_t rank, int64_t world_size, StepWindow window);
  // Writes the file if the window began and it was not written yet (a run
  // that stopped inside the window keeps what it recorded); errors are printed.
  ~Timeline();
  Timeline(const Timeline&) = delete;
  Timeline& operator=(const Timeline&) = delete;

  // Step `step` begins: recording is on while the window holds it. The first
  // step past the window writes the file.
  void begin_step(int64_t step);
  bool recording() const { return recording_.load(std::memory_order_relaxed); }
  // The step being recorded (args "step" of every span).
  int64_t step() const { return step_.load(std::memory_order_relaxed); }

  // A span [start, end] of step `step` (-1: the current one) on `lane`;
  // `args` is more JSON members for its "args" object ("\"bucket\": 2").
  // Safe from any thread.
  void add_span(int64_t lane, const char* name, const char* category, Clock::time_point start,
                Clock::time_point end, const std::string& args = "", int64_t step = -1);
  void add_instant(int64_t lane, const char* name, Clock::time_point at,
                   const std::string& args = "", int64_t step = -1);
  void name_lane(int64_t lane, const std::string& name);
  // A member of the file's "otherData" object: key and its JSON value.
  void describe(const std::string& key, const std::string& json_value);

  // Times spans of `lane`: the span runs from construction to destruction
  // (or end()). Does nothing when `timeline` is null or not recording.
  class Span {
   public:
    Span(Timeline* timeline, int64_t lane, const char* name, const char* category = "compute");
    ~Span() { end(); }
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;
    void end();
    // Records nothing after all (a batch that never came).
    void cancel() { timeline_ = nullptr; }

   private:
    Timeline* timeline_;
    int64_t lane_;
    const char* name_;
    const char* category_;
    Clock::time_point start_;
  };

  // A function that waits for the device (torch::cuda::synchronize): called
  // at the end of every span while recording, so that a span on a GPU covers
  // its kernels' execution, not only their launch.
  void synchronize_spans_with(void (*synchronize)()) { synchronize_ = synchronize; }
  void synchronize_device() const {
    if (synchronize_) synchronize_();
  }

  // `t` as the file's timestamps are: microseconds since the Unix epoch.
  double timestamp(Clock::time_point t) const;
  const std::string& path() const { return path_; }
  const StepWindow& window() const { return window_; }
  // Writes the file now (a UserError naming it if it cannot); later calls do nothing.
  void write();

 private:
  void add_event(std::string event);
  // An event's "args" object: its step (-1: the current one), then `args`.
  std::string event_args(int64_t step, const std::string& args) const;

  std::string path_;
  int64_t rank_, world_size_;
  StepWindow window_;
  // system_clock at construction: timestamps are steady_clock offsets from it,
  // so ranks on one machine share a time axis and none jumps within a run.
  Clock::time_point start_steady_;
  double start_unix_us_;
  void (*synchronize_)() = nullptr;
  std::atomic<bool> recording_{false};
  std::atomic<int64_t> step_{-1};
  bool began_ = false, written_ = false;
  mutable std::mutex mutex_;
  std::vector<std::string> events_;  // JSON objects
  std::vector<std::string> other_data_;
};

}  // namespace tutorial
