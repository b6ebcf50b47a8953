#include "train/command_line_rules.h"

#include "data/datasets.h"
#include "models/model_factory.h"
#include "timeline/timeline.h"

#include <algorithm>

namespace tutorial {

Requirement<std::function<bool(const std::string&)>> one_of(std::vector<std::string> choices) {
  std::string listed;  // "a, b or c"
  for (size_t i = 0; i < choices.size(); ++i) {
    listed += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  }
  std::function<bool(const std::string&)> holds = [choices](const std::string& value) {
    return std::find(choices.begin(), choices.end(), value) != choices.end();
  };
  return requirement(std::move(holds), "must be " + listed).citing_value();
}

void known_dataset(const std::string& /*name*/, const std::string& value) {
  parse_dataset_kind(value);  // throws on an unknown name
}

void known_model(const std::string& name, const std::string& value) {
  try {
    check_model_name(value);
  } catch (const UserError& e) {
    throw UserError("--" + name + ": " + e.what());
  }
}

void valid_step_window(const std::string& name, const std::string& value) {
  parse_step_window(name, value);  // throws on anything but FIRST:END
}

}  // namespace tutorial
