// The shared command line: defaults reproduce the tutorial's job, and every
// nonsense option is a UserError that names it; and the CPU thread count.
#include "train/command_line.h"

#include "core/device.h"
#include "core/errors.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

using namespace tutorial;

namespace {

std::optional<TrainConfig> parse(std::vector<std::string> args, CommandLineFeatures features = {}) {
  args.insert(args.begin(), "stage");
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data(), "stage", "test", features);
}

// The UserError message for `args`, or "" if parsing succeeded.
std::string error_for(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(CommandLine, DefaultsAreTheTutorialsJob) {
  auto c = parse({});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dataset, "fashion-mnist");
  EXPECT_EQ(c->model, "mlp");
  EXPECT_EQ(c->epochs, 5);
  EXPECT_EQ(c->batch_size, 64);
  EXPECT_DOUBLE_EQ(c->lr, 1e-3);
  EXPECT_DOUBLE_EQ(c->momentum, 0.0);
  EXPECT_EQ(c->schedule, "constant");
  EXPECT_EQ(c->max_steps, 0);
}

TEST(CommandLine, ParsesEveryOption) {
  auto c = parse({"--data-dir", "/d", "--dataset", "cifar10", "--model", "resnet56", "--epochs",
                  "3", "--batch-size", "128", "--lr", "0.1", "--momentum", "0.9", "--nesterov",
                  "--weight-decay", "5e-4", "--schedule", "cosine", "--seed", "7", "--device",
                  "cpu", "--output-dir", "/o", "--log-interval", "10", "--max-steps", "20",
                  "--threads", "1", "--prefetch", "0", "--augment", "off", "--warmup-epochs", "2",
                  "--label-smoothing", "0.1"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->data_dir, "/d");
  EXPECT_EQ(c->dataset, "cifar10");
  EXPECT_EQ(c->model, "resnet56");
  EXPECT_EQ(c->epochs, 3);
  EXPECT_EQ(c->batch_size, 128);
  EXPECT_DOUBLE_EQ(c->lr, 0.1);
  EXPECT_TRUE(c->nesterov);
  EXPECT_DOUBLE_EQ(c->weight_decay, 5e-4);
  EXPECT_EQ(c->schedule, "cosine");
  EXPECT_EQ(c->seed, 7u);
  EXPECT_EQ(c->output_dir, "/o");
  EXPECT_EQ(c->log_interval, 10);
  EXPECT_EQ(c->max_steps, 20);
  EXPECT_EQ(c->prefetch, 0);
  EXPECT_EQ(c->augment, "off");
  EXPECT_EQ(c->warmup_epochs, 2);
  EXPECT_DOUBLE_EQ(c->label_smoothing, 0.1);
}

TEST(CommandLine, DevicesOnlyWhereTheStageOffersThem) {
  auto c = parse({"--devices", "0,2"}, CommandLineFeatures().device_list(true));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->devices, (std::vector<int64_t>{0, 2}));
  EXPECT_THROW(parse({"--devices", "0,x"}, CommandLineFeatures().device_list(true)), UserError);
  EXPECT_THROW(parse({"--devices", "0,2"}), UserError);
}

TEST(CommandLine, NonsenseOptionsNameTheProblem) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--batch-size", "0"}, "--batch-size"},
      {{"--batch-size", "abc"}, "abc"},
      {{"--lr", "-0.1"}, "--lr"},
      {{"--lr", "abc"}, "abc"},
      {{"--lr", "nan"}, "--lr"},
      {{"--lr", "inf"}, "--lr"},
      {{"--model", "vgg"}, "vgg"},
      {{"--dataset", "imagenet"}, "imagenet"},
      {{"--max-steps", "-1"}, "--max-steps"},
      {{"--epochs", "0"}, "--epochs"},
      {{"--momentum", "1.5"}, "--momentum"},
      {{"--nesterov"}, "--nesterov"},
      {{"--schedule", "linear"}, "--schedule"},
      {{"--log-interval", "0"}, "--log-interval"},
      {{"--augment", "maybe"}, "--augment"},
      {{"--warmup-epochs", "5"}, "--warmup-epochs"},  // not fewer than the 5 epochs
      {{"--warmup-epochs", "-1"}, "--warmup-epochs"},
      {{"--label-smoothing", "1"}, "--label-smoothing"},
      {{"--label-smoothing", "-0.1"}, "--label-smoothing"},
      {{"--no-such-option"}, "no-such-option"},
      {{"stray"}, "stray"},
  };
  for (const auto& [args, expected] : cases) {
    const auto message = error_for(args);
    EXPECT_NE(message.find(expected), std::string::npos)
        << args[0] << ": message '" << message << "' does not name '" << expected << "'";
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  }
}

TEST(CommandLine, HelpReturnsNothing) {
  testing::internal::CaptureStdout();
  EXPECT_FALSE(parse({"--help"}));
  const auto help = testing::internal::GetCapturedStdout();
  EXPECT_NE(help.find("--batch-size"), std::string::npos);
  EXPECT_NE(help.find("(default: 64)"), std::string::npos);
}

TEST(CpuThreads, AnExplicitCountThenOmpNumThreadsThenTheCoresPerRank) {
  const int before = at::get_num_threads();
  const char* saved = std::getenv("OMP_NUM_THREADS");
  const std::string saved_value = saved ? saved : "";
  ::unsetenv("OMP_NUM_THREADS");
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(configure_cpu_threads(0), cores);
  EXPECT_EQ(configure_cpu_threads(0, cores), 1);
  ::setenv("OMP_NUM_THREADS", "3", 1);
  EXPECT_EQ(configure_cpu_threads(0, cores), 3) << "as torchrun and PyTorch read it";
  EXPECT_EQ(configure_cpu_threads(2), 2) << "--threads wins";
  ::setenv("OMP_NUM_THREADS", "lots", 1);
  EXPECT_EQ(configure_cpu_threads(0), cores) << "a value that is no count is ignored";
  if (saved) {
    ::setenv("OMP_NUM_THREADS", saved_value.c_str(), 1);
  } else {
    ::unsetenv("OMP_NUM_THREADS");
  }
  at::set_num_threads(before);
}
