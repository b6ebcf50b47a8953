#include "train/command_line.h"

#include "core/errors.h"
#include "train/command_line_options.h"

#include <cxxopts.hpp>

#include <algorithm>
#include <iostream>
#include <thread>

namespace tutorial {
namespace {

// Threads or worker processes per core, at most: oversubscribing a core
// further only slows a run down.
constexpr int64_t kMostPerCore = 4;

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

// Flags are the only values cxxopts reads itself; its "Argument 'maybe'
// failed to parse" names the option here: "--amp takes no value ...".
std::string name_the_flag(const std::string& message, int argc, const char* const argv[]) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto equals = arg.find('=');
    if (arg.rfind("--", 0) != 0 || equals == std::string::npos) continue;
    const std::string value = arg.substr(equals + 1);
    if (message.find("\xE2\x80\x98" + value + "\xE2\x80\x99") == std::string::npos &&
        message.find("'" + value + "'") == std::string::npos) {
      continue;
    }
    return arg.substr(0, equals) + " takes no value (or true or false), got '" + value + "'";
  }
  return message;
}

// The multiples of `divisor` on either side of `value`: "63 or 66", or "64".
std::string nearest_multiples(int64_t value, int64_t divisor) {
  const int64_t below = value / divisor * divisor;
  const std::string above = std::to_string(below + divisor);
  return below > 0 ? std::to_string(below) + " or " + above : above;
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
  require(c.batch_size % c.accumulate_steps == 0,
          "--batch-size " + std::to_string(c.batch_size) + " is not divisible by --accumulate-steps " +
              std::to_string(c.accumulate_steps) + ": each micro-batch is an equal share (use " +
              nearest_multiples(c.batch_size, c.accumulate_steps) + ")");
  require(c.node_rank >= 0 && c.node_rank < c.nodes, "--node-rank must be in [0, --nodes)");
  require(c.master_port != 0 || c.nodes == 1,
          "--master-port must be given when --nodes > 1 (every machine needs the same one)");
  // A typo (--threads 100000, --nproc-per-node 20000) would otherwise start
  // that many threads or processes and bring the machine to a halt.
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  const int64_t most = kMostPerCore * cores;
  const std::string per_core = " (" + std::to_string(kMostPerCore) + " per core of this machine's " +
                               std::to_string(cores) + ")";
  require(c.threads <= most, "--threads must be at most " + std::to_string(most) + per_core +
                                 ", got " + std::to_string(c.threads));
  require(c.nproc_per_node <= most, "--nproc-per-node must be at most " + std::to_string(most) +
                                        per_core + ", got " + std::to_string(c.nproc_per_node));
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
    throw UserError(name_the_flag(first_line(e.what()), argc, argv));
  }
  validate(config);
  return config;
}

}  // namespace tutorial
