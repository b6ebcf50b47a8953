#include "core/progress_bar.h"

#include "core/console.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace tutorial {

bool stdout_is_interactive() {
  const char* term = std::getenv("TERM");
  return is_console_rank() && ::isatty(STDOUT_FILENO) == 1 &&
         !(term && std::strcmp(term, "dumb") == 0);
}

std::string format_progress(int64_t epoch, int64_t epochs, int64_t done, int64_t total,
                            double loss, double samples_per_second, int width) {
  const double fraction = total > 0 ? std::clamp(double(done) / double(total), 0.0, 1.0) : 0.0;
  const int filled = static_cast<int>(fraction * width);
  std::string eta = "-:--";
  if (samples_per_second > 0 && done <= total) {
    const auto seconds = static_cast<long long>(double(total - done) / samples_per_second + 0.5);
    eta = seconds >= 3600 ? strprintf("%lld:%02lld:%02lld", seconds / 3600, seconds / 60 % 60,
                                      seconds % 60)
                          : strprintf("%lld:%02lld", seconds / 60, seconds % 60);
  }
  return strprintf("Epoch %lld/%lld  [%s%s]  %3.0f%%  %lld/%lld  loss %.4f  %.0f samples/s  ETA %s",
                   static_cast<long long>(epoch), static_cast<long long>(epochs),
                   std::string(filled, '#').c_str(), std::string(width - filled, '-').c_str(),
                   100 * fraction, static_cast<long long>(done), static_cast<long long>(total),
                   loss, samples_per_second, eta.c_str());
}

ProgressBar::ProgressBar(std::ostream& stream, bool enabled) : stream_(stream), enabled_(enabled) {}

void ProgressBar::start(int64_t epoch, int64_t epochs, int64_t total) {
  epoch_ = epoch;
  epochs_ = epochs;
  total_ = total;
  first_done_ = -1;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void ProgressBar::update(int64_t done, const std::function<double()>& loss) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (first_done_ < 0) {  // the rate counts from the first step on, not from loading
    first_done_ = done;
    start_ = now;
  }
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && done < total_) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? double(done - first_done_) / seconds : 0;
  stream_ << "\r\033[K" << format_progress(epoch_, epochs_, done, total_, loss(), rate)
          << std::flush;
  drawn_ = true;
}

void ProgressBar::clear() {
  if (!enabled_ || !drawn_) return;
  stream_ << "\r\033[K" << std::flush;
  drawn_ = false;
}

}  // namespace tutorial
