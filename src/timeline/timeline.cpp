#include "timeline/timeline.h"

#include "core/atomic_file.h"
#include "core/console.h"
#include "core/errors.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace tutorial {
namespace {

std::string json_string(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      quoted += strprintf("\\u%04x", static_cast<unsigned>(c));
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

// A whole number of steps, the whole text: "10" but not "10x" or "-1".
bool read_step(const std::string& text, int64_t& step) {
  if (text.empty() || text.size() > 15 || text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  step = std::strtoll(text.c_str(), nullptr, 10);
  return true;
}

}  // namespace

StepWindow parse_step_window(const std::string& name, const std::string& text) {
  const auto colon = text.find(':');
  StepWindow window;
  if (colon == std::string::npos || !read_step(text.substr(0, colon), window.first) ||
      !read_step(text.substr(colon + 1), window.end) || window.end <= window.first) {
    throw UserError("--" + name + " " + text +
                    ": must be FIRST:END, steps counted from 0 with FIRST < END (10:15 is "
                    "steps 10 to 14)");
  }
  return window;
}

std::string rank_trace_path(const std::string& path, int64_t rank) {
  const std::filesystem::path file(path);
  const std::string extension = file.has_extension() ? file.extension().string() : ".json";
  std::filesystem::path named = file;
  named.replace_filename(file.stem().string() + ".rank" + std::to_string(rank) + extension);
  return named.string();
}

Timeline::Timeline(std::string path, int64_t rank, int64_t world_size, StepWindow window)
    : path_(std::move(path)),
      rank_(rank),
      world_size_(world_size),
      window_(window),
      start_steady_(Clock::now()),
      start_unix_us_(static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count())) {
  // Its folder now, so that a path that cannot be written fails before training.
  const auto folder = std::filesystem::path(path_).parent_path();
  std::error_code error;
  if (!folder.empty()) std::filesystem::create_directories(folder, error);
  if (error) throw UserError("--trace: cannot create " + folder.string() + ": " + error.message());
  add_event(strprintf(R"({"name": "process_name", "ph": "M", "pid": %lld, "tid": 0, )"
                      R"("args": {"name": "rank %lld"}})",
                      static_cast<long long>(rank_), static_cast<long long>(rank_)));
  add_event(strprintf(R"({"name": "process_sort_index", "ph": "M", "pid": %lld, "tid": 0, )"
                      R"("args": {"sort_index": %lld}})",
                      static_cast<long long>(rank_), static_cast<long long>(rank_)));
  name_lane(kDataLane, "data");
  name_lane(kComputeLane, "compute");
}

Timeline::~Timeline() {
  if (!began_ || written_) return;
  try {
    write();
  } catch (const std::exception& e) {
    std::cerr << e.what() << std::endl;
  }
}

void Timeline::begin_step(int64_t step) {
  step_.store(step, std::memory_order_relaxed);
  const bool inside = window_.contains(step);
  recording_.store(inside, std::memory_order_relaxed);
  began_ = began_ || inside;
  if (began_ && !inside && !written_) write();
}

double Timeline::timestamp(Clock::time_point t) const {
  return start_unix_us_ +
         std::chrono::duration<double, std::micro>(t - start_steady_).count();
}

std::string Timeline::event_args(int64_t step, const std::string& args) const {
  return strprintf(R"({"step": %lld%s})", static_cast<long long>(step >= 0 ? step : this->step()),
                   args.empty() ? "" : (", " + args).c_str());
}

void Timeline::add_event(std::string event) {
  std::lock_guard<std::mutex> lock(mutex_);
  events_.push_back(std::move(event));
}

void Timeline::add_span(int64_t lane, const char* name, const char* category,
                        Clock::time_point start, Clock::time_point end, const std::string& args,
                        int64_t step) {
  const double ts = timestamp(start);
  add_event(strprintf(R"({"name": "%s", "cat": "%s", "ph": "X", "pid": %lld, "tid": %lld, )"
                      R"("ts": %.3f, "dur": %.3f, "args": %s})",
                      name, category, static_cast<long long>(rank_),
                      static_cast<long long>(lane), ts, timestamp(end) - ts,
                      event_args(step, args).c_str()));
}

void Timeline::add_instant(int64_t lane, const char* name, Clock::time_point at,
                           const std::string& args, int64_t step) {
  add_event(strprintf(R"({"name": "%s", "ph": "i", "s": "t", "pid": %lld, "tid": %lld, )"
                      R"("ts": %.3f, "args": %s})",
                      name, static_cast<long long>(rank_), static_cast<long long>(lane),
                      timestamp(at), event_args(step, args).c_str()));
}

void Timeline::name_lane(int64_t lane, const std::string& name) {
  add_event(strprintf(R"({"name": "thread_name", "ph": "M", "pid": %lld, "tid": %lld, )"
                      R"("args": {"name": %s}})",
                      static_cast<long long>(rank_), static_cast<long long>(lane),
                      json_string(name).c_str()));
  add_event(strprintf(R"({"name": "thread_sort_index", "ph": "M", "pid": %lld, "tid": %lld, )"
                      R"("args": {"sort_index": %lld}})",
                      static_cast<long long>(rank_), static_cast<long long>(lane),
                      static_cast<long long>(lane)));
}

void Timeline::describe(const std::string& key, const std::string& json_value) {
  std::lock_guard<std::mutex> lock(mutex_);
  other_data_.push_back(json_string(key) + ": " + json_value);
}

void Timeline::write() {
  recording_.store(false, std::memory_order_relaxed);
  written_ = true;
  std::string text = "{\"traceEvents\": [\n";
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < events_.size(); ++i) {
      text += events_[i] + (i + 1 < events_.size() ? ",\n" : "\n");
    }
    text += "],\n\"displayTimeUnit\": \"ms\",\n\"otherData\": {";
    text += strprintf(R"("format": "libtorch-ddp-tutorial timeline", "version": 1, )"
                      R"("rank": %lld, "world_size": %lld, "first_step": %lld, "end_step": %lld)",
                      static_cast<long long>(rank_), static_cast<long long>(world_size_),
                      static_cast<long long>(window_.first), static_cast<long long>(window_.end));
    for (const auto& member : other_data_) text += ",\n  " + member;
  }
  text += "}}\n";
  write_file_atomically(path_, std::vector<char>(text.begin(), text.end()));
  out() << "Timeline of steps " << window_.first << " to " << window_.end - 1 << " written to "
        << path_ << (world_size_ > 1 ? " (and one file per rank)" : "")
        << ": open it in ui.perfetto.dev, or draw it with scripts/plot_timeline.py" << std::endl;
}

Timeline::Span::Span(Timeline* timeline, int64_t lane, const char* name, const char* category)
    : timeline_(timeline && timeline->recording() ? timeline : nullptr),
      lane_(lane),
      name_(name),
      category_(category) {
  if (!timeline_) return;
  timeline_->synchronize_device();  // the device's earlier work is not this span's
  start_ = Clock::now();
}

void Timeline::Span::end() {
  if (!timeline_) return;
  timeline_->synchronize_device();
  timeline_->add_span(lane_, name_, category_, start_, Clock::now());
  timeline_ = nullptr;
}

}  // namespace tutorial
