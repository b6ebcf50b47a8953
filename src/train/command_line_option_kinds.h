// The kinds of command-line option (number, text, choice, flag, device list),
// for the table in command_line_options.cpp. Each kind binds an option to a
// TrainConfig field: a member pointer, or for a nested field an accessor such
// as in_fast_path(&FastPath::amp); the rules its value obeys are in
// command_line_rules.h.
#pragma once

#include "train/command_line_options.h"
#include "train/command_line_rules.h"

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace tutorial {

// ------------------------------------------------------------------ text forms

// The shortest text that reads back as exactly `value`: 1e-3, 0.1, 0.
std::string shortest_text(double value);

// A field's value as command-line text; TrainConfig{}'s is the default --help shows.
template <typename T>
std::string as_text(const T& value) {
  if constexpr (std::is_same_v<T, std::string>) {
    return value;
  } else if constexpr (std::is_same_v<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (std::is_floating_point_v<T>) {
    return shortest_text(value);
  } else if constexpr (std::is_integral_v<T>) {
    return std::to_string(value);
  } else {  // a list of numbers: 0,1
    std::string text;
    for (const auto& item : value) text += (text.empty() ? "" : ",") + std::to_string(item);
    return text;
  }
}

// A number of type T from --NAME's text; throws UserError naming the option.
// Numbers are declared to cxxopts as text so that a malformed one is reported here.
int64_t whole_number_from_text(const std::string& name, const std::string& text);
uint64_t count_from_text(const std::string& name, const std::string& text);
double real_number_from_text(const std::string& name, const std::string& text);

template <typename T>
T number_from_text(const std::string& name, const std::string& text) {
  if constexpr (std::is_floating_point_v<T>) {
    return real_number_from_text(name, text);
  } else if constexpr (std::is_signed_v<T>) {
    return whole_number_from_text(name, text);
  } else {
    return count_from_text(name, text);
  }
}

// "0,2" as device indices; throws UserError naming --NAME.
std::vector<int64_t> device_list_from_text(const std::string& name, const std::string& text);

// ----------------------------------------------------------------------- kinds

// A nested field: in_fast_path(&FastPath::amp) is config.fast_path.amp.
inline auto in_fast_path(bool FastPath::*member) {
  return [member](auto& config) -> auto& { return config.fast_path.*member; };
}

// What every kind shares: its place in --help and its field's value as text.
template <typename Field>
CommandLineOption option_for(std::string group, std::string name, std::string help, Field field) {
  CommandLineOption option;
  option.group = std::move(group);
  option.name = std::move(name);
  option.help = std::move(help);
  option.text_of = [field](const TrainConfig& c) { return as_text(std::invoke(field, c)); };
  return option;
}

template <typename Field, typename Rule>
void add_rule(CommandLineOption& option, Field field, Rule rule) {
  if constexpr (!std::is_same_v<Rule, AnyValue>) {
    option.check = [field, rule, option_name = option.name](const TrainConfig& c) {
      rule(option_name, std::invoke(field, c));
    };
  }
}

// A number of the field's type: whole, non-negative whole (the seed) or real.
template <typename Field, typename Rule = AnyValue>
CommandLineOption number(std::string group, std::string name, std::string help, Field field,
                         Rule rule = {}) {
  auto option = option_for(std::move(group), std::move(name), std::move(help), field);
  option.read = [field, option_name = option.name](const std::string& text, TrainConfig& c) {
    auto& value = std::invoke(field, c);
    value = number_from_text<std::decay_t<decltype(value)>>(option_name, text);
  };
  add_rule(option, field, rule);
  return option;
}

// Free text; an empty default is none (the option is read only when given).
template <typename Field, typename Rule = AnyValue>
CommandLineOption text(std::string group, std::string name, std::string help, Field field,
                       Rule rule = {}) {
  auto option = option_for(std::move(group), std::move(name), std::move(help), field);
  option.read = [field](const std::string& value, TrainConfig& c) {
    std::invoke(field, c) = value;
  };
  add_rule(option, field, rule);
  return option;
}

// Text that must be one of `choices`.
template <typename Field>
CommandLineOption choice(std::string group, std::string name, std::string help, Field field,
                         std::vector<std::string> choices) {
  return text(std::move(group), std::move(name), std::move(help), field,
              one_of(std::move(choices)));
}

// A switch, off by default (--help says so): given, it sets the field.
template <typename Field>
CommandLineOption flag(std::string group, std::string name, std::string help, Field field) {
  auto option = option_for(std::move(group), std::move(name), help + " (default: off)", field);
  option.is_flag = true;
  option.read = [field](const std::string& value, TrainConfig& c) {
    std::invoke(field, c) = value == "true";
  };
  return option;
}

// A switch, off by default, that clears the field: --no-progress. Given at
// all, even as --no-progress=false, it clears it (as it always has).
template <typename Field>
CommandLineOption off_flag(std::string group, std::string name, std::string help, Field field) {
  auto option = flag(std::move(group), std::move(name), std::move(help), field);
  option.text_of = [field](const TrainConfig& c) { return as_text(!std::invoke(field, c)); };
  option.read = [field](const std::string& /*value*/, TrainConfig& c) {
    std::invoke(field, c) = false;
  };
  return option;
}

// Comma-separated device indices; no default (empty: all visible devices).
template <typename Field>
CommandLineOption device_list(std::string group, std::string name, std::string help, Field field) {
  auto option = option_for(std::move(group), std::move(name), std::move(help), field);
  option.read = [field, option_name = option.name](const std::string& text, TrainConfig& c) {
    std::invoke(field, c) = device_list_from_text(option_name, text);
  };
  return option;
}

}  // namespace tutorial
