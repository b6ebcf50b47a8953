// The table of command-line options: each has a help line and one name, each
// stage's --help lists exactly what it offers, the defaults --help shows read
// back as TrainConfig{}'s, and validate() applies every rule to configs built in code.
#include "train/command_line_option_kinds.h"
#include "train/command_line_options.h"

#include "core/errors.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

using namespace tutorial;

namespace {

std::optional<TrainConfig> parse(std::vector<std::string> args, CommandLineFeatures features) {
  args.insert(args.begin(), "stage");
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data(), "stage", "test", features);
}

// The four stages' switches.
const std::vector<CommandLineFeatures>& stage_features() {
  static const std::vector<CommandLineFeatures> stages = {
      CommandLineFeatures(), CommandLineFeatures().device_list(true),
      CommandLineFeatures().distributed(true), CommandLineFeatures().distributed(true).spawn(true)};
  return stages;
}

// The UserError message validate() gives `config`, or "" if it passes.
std::string problem_with(const TrainConfig& config) {
  try {
    validate(config);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(CommandLineOptions, EachHasAHelpLineAndANameOfItsOwn) {
  std::set<std::string> names = {"help"};
  for (const auto& option : command_line_options()) {
    EXPECT_TRUE(names.insert(option.name).second) << "--" << option.name << " declared twice";
    EXPECT_FALSE(option.group.empty()) << option.name;
    EXPECT_FALSE(option.help.empty()) << option.name;
    EXPECT_TRUE(option.text_of && option.read) << option.name;
  }
}

TEST(CommandLineOptions, EachStagesHelpListsExactlyWhatItOffers) {
  for (const auto& features : stage_features()) {
    testing::internal::CaptureStdout();
    EXPECT_FALSE(parse({"--help"}, features));
    const auto help = testing::internal::GetCapturedStdout();
    for (const auto& option : command_line_options()) {
      const bool listed = help.find("\n      --" + option.name + " ") != std::string::npos;
      EXPECT_EQ(listed, offers(features, option.feature)) << "--" << option.name << "\n" << help;
    }
  }
}

TEST(CommandLineOptions, StageOptionsAreOfferedOnlyByTheirStages) {
  const std::map<std::string, StageFeature> stage_options = {
      {"devices", StageFeature::kDeviceList},
      {"backend", StageFeature::kDistributed},
      {"dist-timeout", StageFeature::kDistributed},
      {"sync-bn", StageFeature::kDistributed},
      {"bucket-cap-mb", StageFeature::kDistributed},
      {"first-bucket-cap-mb", StageFeature::kDistributed},
      {"trace", StageFeature::kDistributed},
      {"trace-steps", StageFeature::kDistributed},
      {"nodes", StageFeature::kSpawn},
      {"nproc-per-node", StageFeature::kSpawn},
      {"node-rank", StageFeature::kSpawn},
      {"master-addr", StageFeature::kSpawn},
      {"master-port", StageFeature::kSpawn}};
  for (const auto& option : command_line_options()) {
    const auto stage_option = stage_options.find(option.name);
    EXPECT_EQ(option.feature, stage_option == stage_options.end() ? StageFeature::kEveryStage
                                                                  : stage_option->second)
        << option.name;
  }
}

TEST(CommandLineOptions, FlagsAreOffByDefault) {
  // --help says "(default: off)", and a flag can only switch something on.
  for (const auto& option : command_line_options()) {
    if (!option.is_flag) continue;
    EXPECT_EQ(option.text_of(TrainConfig{}), "false") << option.name;
  }
}

TEST(CommandLineOptions, TheDefaultsHelpShowsReadBackAsTrainConfigsAndPassTheirRules) {
  std::vector<std::string> args;
  for (const auto& option : command_line_options()) {
    const auto shown = option.text_of(TrainConfig{});
    if (option.is_flag || shown.empty()) continue;
    TrainConfig read_back;
    option.read(shown, read_back);
    EXPECT_EQ(option.text_of(read_back), shown) << option.name;
    args.insert(args.end(), {"--" + option.name, shown});
  }
  EXPECT_TRUE(parse(args, stage_features().back()));
}

TEST(CommandLineOptions, ANumbersDefaultIsShownInTheShortestTextThatReadsBackExactly) {
  EXPECT_EQ(shortest_text(1e-3), "1e-3");
  EXPECT_EQ(shortest_text(0.0), "0");
  EXPECT_EQ(shortest_text(0.1), "0.1");
  EXPECT_EQ(shortest_text(5e-4), "5e-4");
  EXPECT_EQ(shortest_text(123456.0), "123456");
  for (const double value : {1e-3, 0.1, 5e-4, 1.0 / 3, 2.5e-310, 1e300, -0.25, 600.0}) {
    EXPECT_EQ(std::strtod(shortest_text(value).c_str(), nullptr), value) << shortest_text(value);
  }
}

TEST(CommandLineOptions, ValidateAppliesEveryRuleToAConfigBuiltInCode) {
  EXPECT_EQ(problem_with(TrainConfig{}), "");
  TrainConfig c;
  c.batch_size = 0;
  EXPECT_EQ(problem_with(c), "--batch-size must be at least 1, got 0");
  c = TrainConfig{};
  c.backend = "mpi";  // an option only stages 3 and 4 offer
  EXPECT_EQ(problem_with(c), "--backend must be auto, nccl or gloo, got 'mpi'");
  c = TrainConfig{};
  c.model = "vgg";
  EXPECT_EQ(problem_with(c).rfind("--model: unknown model 'vgg'", 0), 0u) << problem_with(c);
  c = TrainConfig{};
  c.nesterov = true;
  EXPECT_EQ(problem_with(c), "--nesterov needs --momentum > 0");
  c = TrainConfig{};
  c.nodes = 2;
  EXPECT_EQ(problem_with(c),
            "--master-port must be given when --nodes > 1 (every machine needs the same one)");
}

TEST(CommandLineOptions, FlagsTakeAnExplicitValueAndNoProgressAnyValue) {
  const auto features = CommandLineFeatures();
  EXPECT_TRUE(parse({"--amp"}, features)->fast_path.amp);
  EXPECT_FALSE(parse({"--amp=false"}, features)->fast_path.amp);
  EXPECT_TRUE(parse({}, features)->progress);
  EXPECT_FALSE(parse({"--no-progress"}, features)->progress);
  // Any --no-progress turns it off, as it did before the option table.
  EXPECT_FALSE(parse({"--no-progress=false"}, features)->progress);
}
