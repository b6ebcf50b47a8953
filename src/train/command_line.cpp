#include "train/command_line.h"

#include "core/errors.h"
#include "train/command_line_options.h"

#include <cxxopts.hpp>

#include <iostream>

namespace tutorial {
namespace {

void require(bool condition, const std::string& message) {
  if (!condition) throw UserError(message);
}

// The options this stage offers, in the table's order, then --help.
void declare_options(cxxopts::Options& options, const CommandLineFeatures& features) {
  for (const auto& option : command_line_options()) {
    if (!offers(features, option.feature)) continue;
    const std::string default_text = option.text_of(TrainConfig{});
    // Numbers are declared as text: command_line_option_kinds.h reads them and
    // names the option when one is malformed.
    std::shared_ptr<cxxopts::Value> value;
    if (option.is_flag) {
      value = cxxopts::value<bool>();
    } else {
      value = cxxopts::value<std::string>();
    }
    if (!default_text.empty()) value->default_value(default_text);
    options.add_options(option.group)(option.name, option.help, value);
  }
  options.add_options("Output")("h,help", "print this help");
}

// Sets the fields of the options given; the others keep TrainConfig{}'s value.
void read_options(const cxxopts::ParseResult& result, const CommandLineFeatures& features,
                  TrainConfig& config) {
  for (const auto& option : command_line_options()) {
    if (!offers(features, option.feature) || result.count(option.name) == 0) continue;
    const auto& given = result[option.name];
    if (option.is_flag) {
      option.read(given.as<bool>() ? "true" : "false", config);
    } else {
      option.read(given.as<std::string>(), config);
    }
  }
}

}  // namespace

void validate(const TrainConfig& c) {
  for (const auto& option : command_line_options()) {
    if (option.check) option.check(c);
  }
  // Rules between options.
  require(!c.nesterov || c.momentum > 0, "--nesterov needs --momentum > 0");
  require(c.warmup_epochs >= 0 && c.warmup_epochs < c.epochs,
          "--warmup-epochs must be in [0, --epochs), got " + std::to_string(c.warmup_epochs));
  require(c.node_rank >= 0 && c.node_rank < c.nodes, "--node-rank must be in [0, --nodes)");
  require(c.master_port != 0 || c.nodes == 1,
          "--master-port must be given when --nodes > 1 (every machine needs the same one)");
}

std::optional<TrainConfig> parse_command_line(int argc, const char* const argv[],
                                              const std::string& program,
                                              const std::string& description,
                                              CommandLineFeatures features) {
  cxxopts::Options options(program, description);
  options.set_width(100);
  declare_options(options, features);
  TrainConfig config;
  try {
    auto result = options.parse(argc, argv);
    if (result.count("help")) {
      std::cout << options.help() << std::endl;
      return std::nullopt;
    }
    if (!result.unmatched().empty()) {
      throw UserError("unexpected argument '" + result.unmatched().front() + "'");
    }
    read_options(result, features, config);
  } catch (const UserError&) {
    throw;
  } catch (const std::exception& e) {
    // cxxopts' own messages name the option ("Argument 'abc' failed to parse").
    throw UserError(first_line(e.what()));
  }
  validate(config);
  return config;
}

}  // namespace tutorial
