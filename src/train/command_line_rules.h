// The rules a command-line option's value obeys (a range, a choice, a known
// name), for the table in command_line_options.cpp. A rule is called with the
// option's name and the value and throws UserError naming the option.
#pragma once

#include "core/errors.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace tutorial {

// No rule of its own: any value (or one that only a rule between options in
// validate() limits).
struct AnyValue {
  template <typename T>
  void operator()(const std::string& /*name*/, const T& /*value*/) const {}
};

// What a value must satisfy: `holds` tests it, and the error reads
// "--NAME MUST" or, citing the value, "--NAME MUST, got VALUE".
template <typename Test>
struct Requirement {
  Test holds;
  std::string must;  // "must be at least 1"
  bool cites_value = false;

  Requirement citing_value() const {
    Requirement citing = *this;
    citing.cites_value = true;
    return citing;
  }

  template <typename T>
  void operator()(const std::string& name, const T& value) const {
    if (holds(value)) return;
    std::string message = "--" + name + " " + must;
    if (cites_value) {
      if constexpr (std::is_same_v<T, std::string>) {
        message += ", got '" + value + "'";
      } else {
        message += ", got " + std::to_string(value);
      }
    }
    throw UserError(message);
  }
};

template <typename Test>
Requirement<Test> requirement(Test holds, std::string must) {
  return Requirement<Test>{std::move(holds), std::move(must)};
}

// "must be at least 1", or with a unit "must be at least 1 second".
inline auto at_least(int64_t low, const std::string& unit = "") {
  return requirement([low](auto value) { return value >= low; },
                     "must be at least " + std::to_string(low) + (unit.empty() ? "" : " " + unit));
}

// "must be >= 0", or saying what 0 means: "must be >= 0 (0: no limit)".
inline auto not_negative(const std::string& zero_means = "") {
  return requirement([](auto value) { return value >= 0; },
                     "must be >= 0" + (zero_means.empty() ? "" : " (0: " + zero_means + ")"));
}

inline auto positive() {
  return requirement([](double value) { return std::isfinite(value) && value > 0; },
                     "must be a positive number");
}

// In [0, 1): momentum, label smoothing.
inline auto fraction() {
  return requirement([](double value) { return value >= 0 && value < 1; }, "must be in [0, 1)");
}

inline auto between(int64_t low, int64_t high) {
  return requirement([low, high](int64_t value) { return value >= low && value <= high; },
                     "must be in " + std::to_string(low) + ".." + std::to_string(high));
}

inline auto not_empty(const std::string& must = "must not be empty") {
  return requirement([](const std::string& value) { return !value.empty(); }, must);
}

// One of `choices`: "must be constant, step or cosine, got 'linear'".
Requirement<std::function<bool(const std::string&)>> one_of(std::vector<std::string> choices);

// A dataset name data/datasets.h knows; the error is that module's own.
void known_dataset(const std::string& name, const std::string& value);
// A model name models/model_factory.h knows: "--model: unknown model ...".
void known_model(const std::string& name, const std::string& value);
// --trace-steps: FIRST:END (timeline/timeline.h).
void valid_step_window(const std::string& name, const std::string& value);

}  // namespace tutorial
