// A one-line progress bar for interactive terminals: how far the epoch is,
// the loss, samples/s and the time left, redrawn in place at most 10 times a
// second. Log lines printed through it appear above the bar. Where stdout is
// no terminal (a log file, CI) or --no-progress is given, it prints nothing
// and the log stays plain lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace tutorial {

// True where a progress bar makes sense: stdout is a terminal that is not
// "dumb", and this process prints (rank 0).
bool stdout_is_interactive();

// The bar's text for `done` of `total` samples, without the leading "\r":
//   "Epoch 2/5  [########------------]  40%  24000/60000  loss 0.5132  48,310 samples/s  ETA 0:01"
std::string format_progress(int64_t epoch, int64_t epochs, int64_t done, int64_t total,
                            double loss, double samples_per_second, int width = 20);

class ProgressBar {
 public:
  // A bar that draws on `stream` when `enabled`; otherwise every call is a no-op.
  ProgressBar(std::ostream& stream, bool enabled);

  bool enabled() const { return enabled_; }

  // Starts an epoch (1-based, of `epochs`) of `total` samples.
  void start(int64_t epoch, int64_t epochs, int64_t total);

  // After a step: `done` samples of the epoch so far. `loss` is asked for
  // only when the bar is redrawn (reading a GPU loss waits for the GPU).
  void update(int64_t done, const std::function<double()>& loss);

  // Removes the bar (before a log line, and at the end of the epoch).
  void clear();

 private:
  std::ostream& stream_;
  bool enabled_;
  bool drawn_ = false;
  int64_t epoch_ = 0, epochs_ = 0, total_ = 0, first_done_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace tutorial
