// Ranks agree on their training settings through the store before they train.
#include "core/errors.h"
#include "distributed/settings_agreement.h"
#include "distributed_train/training_settings.h"

#include <gtest/gtest.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include <thread>

using namespace tutorial;

TEST(SettingsAgreement, EncodedSettingsReadBack) {
  const Settings settings = {{"--lr", "0.001"}, {"--model", "mlp"}, {"--resume", "a=b"}};
  EXPECT_EQ(decode_settings(encode_settings(settings)), settings);
}

TEST(SettingsAgreement, TheFirstDifferenceIsNamedWithBothValues) {
  const Settings rank0 = {{"--model", "mlp"}, {"--lr", "0.001"}, {"--seed", "0"}};
  EXPECT_EQ(settings_disagreement(rank0, 1, rank0), "");
  EXPECT_EQ(settings_disagreement(rank0, 3, {{"--model", "mlp"}, {"--lr", "0.1"}, {"--seed", "1"}}),
            "rank 3 has --lr 0.1 but rank 0 has 0.001; every rank must be started with the same "
            "training options");
  EXPECT_NE(settings_disagreement(rank0, 1, {{"--model", "mlp"}}).find("has --lr nothing"),
            std::string::npos);
}

TEST(SettingsAgreement, PerRankOptionsMayDifferAndTrainingOptionsMayNot) {
  TrainConfig a, b;
  b.device = "cuda:1";
  b.data_dir = "/elsewhere";
  b.output_dir = "/other";
  b.threads = 3;
  b.prefetch = 0;
  b.log_interval = 7;
  b.progress = false;
  EXPECT_EQ(training_settings(a), training_settings(b));
  b.lr = 0.1;
  EXPECT_EQ(settings_disagreement(training_settings(a), 1, training_settings(b)),
            "rank 1 has --lr 0.1 but rank 0 has 0.001; every rank must be started with the same "
            "training options");
  TrainConfig c;
  c.fast_path.amp = true;
  EXPECT_NE(settings_disagreement(training_settings(a), 1, training_settings(c)).find("--amp on"),
            std::string::npos);
}

// Two ranks sharing one store: every rank gets the same one line.
TEST(SettingsAgreement, EveryRankStopsWhenOneDisagrees) {
  for (const bool same : {true, false}) {
    auto store = c10::make_intrusive<c10d::HashStore>();
    const Settings rank0 = {{"--lr", "0.001"}};
    const Settings rank1 = same ? rank0 : Settings{{"--lr", "0.1"}};
    std::string rank1_error;
    std::thread other([&] {
      try {
        agree_on_settings(*store, 1, 2, rank1);
      } catch (const UserError& e) {
        rank1_error = e.what();
      }
    });
    std::string rank0_error;
    try {
      agree_on_settings(*store, 0, 2, rank0);
    } catch (const UserError& e) {
      rank0_error = e.what();
    }
    other.join();
    const std::string expected =
        same ? "" : "rank 1 has --lr 0.1 but rank 0 has 0.001; every rank must be started "
                    "with the same training options";
    EXPECT_EQ(rank0_error, expected);
    EXPECT_EQ(rank1_error, expected);
  }
}
