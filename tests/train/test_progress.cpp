// The progress bar: its text, its redrawing in place (at most 10 times a
// second, log lines above it, gone at the epoch's end), and that a disabled
// bar prints nothing, so logs and CI keep plain lines.
#include "core/progress_bar.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

using namespace tutorial;

TEST(ProgressBar, TextShowsEpochShareSamplesLossRateAndTimeLeft) {
  EXPECT_EQ(format_progress(2, 5, 24000, 60000, 0.51321, 12000, 10),
            "Epoch 2/5  [####------]   40%  24000/60000  loss 0.5132  12000 samples/s  ETA 0:03");
  EXPECT_EQ(format_progress(1, 1, 0, 50000, 2.3, 0, 4),
            "Epoch 1/1  [----]    0%  0/50000  loss 2.3000  0 samples/s  ETA -:--");
  EXPECT_EQ(format_progress(1, 1, 50000, 50000, 0.1, 10, 4),
            "Epoch 1/1  [####]  100%  50000/50000  loss 0.1000  10 samples/s  ETA 0:00");
  EXPECT_NE(format_progress(1, 1, 0, 100000, 1, 10).find("ETA 2:46:40"), std::string::npos);
}

TEST(ProgressBar, RedrawsInPlaceAtMostTenTimesASecondAndClearsItself) {
  std::ostringstream terminal;
  ProgressBar bar(terminal, true);
  bar.start(1, 3, 1000);
  int losses_read = 0;
  const auto loss = [&] { return ++losses_read, 0.5; };
  bar.update(100, loss);  // the first update draws
  bar.update(200, loss);  // too soon: not drawn, the loss not read (no GPU wait)
  EXPECT_EQ(losses_read, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  bar.update(300, loss);
  bar.update(1000, loss);  // the last one always draws
  EXPECT_EQ(losses_read, 3);
  bar.clear();
  const std::string text = terminal.str();
  EXPECT_EQ(text.rfind("\r\033[K", 0), 0u) << "each draw starts by erasing the line";
  EXPECT_NE(text.find("Epoch 1/3  [##------------------]   10%  100/1000"), std::string::npos);
  EXPECT_NE(text.find("100%  1000/1000"), std::string::npos);
  EXPECT_EQ(text.find('\n'), std::string::npos) << "the bar never scrolls the terminal";
  EXPECT_EQ(text.substr(text.size() - 4), "\r\033[K") << "cleared at the end";
}

TEST(ProgressBar, ADisabledBarPrintsNothing) {
  std::ostringstream log;
  ProgressBar bar(log, false);
  bar.start(1, 1, 10);
  bar.update(5, [] { return 1.0; });
  bar.clear();
  EXPECT_EQ(log.str(), "");
  EXPECT_FALSE(bar.enabled());
}
