// An environment variable set (or unset) for one test, restored after it.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace tutorial::testdata {

class ScopedEnvironmentVariable {
 public:
  // `value` nullptr: the variable is unset while this lives.
  ScopedEnvironmentVariable(std::string name, const char* value) : name_(std::move(name)) {
    if (const char* saved = std::getenv(name_.c_str())) saved_ = saved;
    set(value);
  }
  ~ScopedEnvironmentVariable() { set(saved_ ? saved_->c_str() : nullptr); }
  ScopedEnvironmentVariable(const ScopedEnvironmentVariable&) = delete;
  ScopedEnvironmentVariable& operator=(const ScopedEnvironmentVariable&) = delete;

 private:
  void set(const char* value) {
    if (value) {
      ::setenv(name_.c_str(), value, 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

  std::string name_;
  std::optional<std::string> saved_;
};

}  // namespace tutorial::testdata
