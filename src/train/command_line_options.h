// The shared command line's options, each declared once (command_line_options.cpp):
// its --help line, the TrainConfig field it fills and the rule its value obeys.
// train/command_line.cpp walks the list to declare, read and validate them.
#pragma once

#include "train/command_line.h"
#include "train/config.h"

#include <functional>
#include <string>
#include <vector>

namespace tutorial {

// The CommandLineFeatures switch that offers an option; kEveryStage: always offered.
enum class StageFeature { kEveryStage, kDeviceList, kDistributed, kSpawn };

bool offers(const CommandLineFeatures& features, StageFeature feature);

struct CommandLineOption {
  std::string group;  // its section of --help
  std::string name;   // --NAME
  std::string help;
  StageFeature feature = StageFeature::kEveryStage;
  bool is_flag = false;  // takes no value; given: on
  // The option's value in a config as command-line text ("true" or "false" for a
  // flag). Of TrainConfig{} it is the default --help shows; "" shows none.
  std::function<std::string(const TrainConfig&)> text_of;
  // Sets the field from the option's text; throws UserError naming the option.
  std::function<void(const std::string& text, TrainConfig&)> read;
  // The option's own rule on the field's value (a range, a known name); throws
  // UserError. Empty: any value. Rules between options are in validate().
  std::function<void(const TrainConfig&)> check;

  // This option, offered only where `stage_feature` is switched on.
  CommandLineOption needs(StageFeature stage_feature) const;
};

// Every option, in --help order within each group.
const std::vector<CommandLineOption>& command_line_options();

}  // namespace tutorial
