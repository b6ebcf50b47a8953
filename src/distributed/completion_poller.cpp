#include "distributed/completion_poller.h"

#include <chrono>

namespace tutorial {

CompletionPoller::CompletionPoller() : thread_([this] { run(); }) {}

CompletionPoller::~CompletionPoller() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void CompletionPoller::watch(c10::intrusive_ptr<c10d::Work> work,
                             std::function<void()> on_completion) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    watched_.push_back({std::move(work), std::move(on_completion)});
  }
  wake_.notify_one();
}

void CompletionPoller::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stop_ || !watched_.empty(); });
    if (stop_) return;
    for (auto it = watched_.begin(); it != watched_.end();) {
      if (it->work->isCompleted()) {
        it->on_completion();
        it = watched_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();  // watch() may add more meanwhile
    std::this_thread::sleep_for(std::chrono::microseconds(20));
    lock.lock();
  }
}

}  // namespace tutorial
