// Timeline alone (no training): which steps it records, where it writes, and
// that what it writes is trace-event JSON with the spans given to it.
#include "core/errors.h"
#include "json_value.h"
#include "test_files.h"
#include "timeline/timeline.h"

#include <gtest/gtest.h>

#include <filesystem>

using namespace tutorial;
using namespace tutorial::testdata;

TEST(StepWindow, ReadsFirstColonEndAndRefusesAnythingElseNamingTheOption) {
  const StepWindow w = parse_step_window("trace-steps", "10:15");
  EXPECT_EQ(w.first, 10);
  EXPECT_EQ(w.end, 15);
  EXPECT_FALSE(w.contains(9));
  EXPECT_TRUE(w.contains(10));
  EXPECT_TRUE(w.contains(14));
  EXPECT_FALSE(w.contains(15));
  for (const char* bad : {"", "10", "15:10", "3:3", "-1:4", "a:b", "1:2:3", "1.5:3", " 1:3"}) {
    try {
      parse_step_window("trace-steps", bad);
      ADD_FAILURE() << "'" << bad << "' was taken";
    } catch (const UserError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--trace-steps " + std::string(bad) + ": must be FIRST:END", 0), 0u)
          << e.what();
    }
  }
}

TEST(RankTracePath, PutsTheRankBeforeTheExtension) {
  EXPECT_EQ(rank_trace_path("out/trace.json", 0), "out/trace.rank0.json");
  EXPECT_EQ(rank_trace_path("trace.json", 12), "trace.rank12.json");
  EXPECT_EQ(rank_trace_path("/tmp/run/timeline", 1), "/tmp/run/timeline.rank1.json");
}

TEST(Timeline, RecordsOnlyTheWindowsStepsAndWritesWhenItCloses) {
  TempDir dir;
  const std::string path = dir / "t.rank1.json";
  Timeline timeline(path, 1, 2, StepWindow{2, 4});
  const auto now = Timeline::Clock::now();
  for (int64_t step = 0; step < 4; ++step) {
    timeline.begin_step(step);
    EXPECT_EQ(timeline.recording(), step >= 2) << step;
    Timeline::Span span(&timeline, kComputeLane, "forward");
    span.end();
    timeline.add_span(kFirstBucketLane, "all-reduce", "communication", now,
                      now + std::chrono::microseconds(1500), "\"bucket\": 0");
  }
  EXPECT_FALSE(std::filesystem::exists(path)) << "written before its window closed";
  timeline.begin_step(4);
  EXPECT_FALSE(timeline.recording());
  ASSERT_TRUE(std::filesystem::exists(path));

  const JsonValue trace = read_json_file(path);
  EXPECT_EQ(trace["displayTimeUnit"].text, "ms");
  EXPECT_EQ(trace["otherData"]["rank"].number, 1);
  EXPECT_EQ(trace["otherData"]["world_size"].number, 2);
  EXPECT_EQ(trace["otherData"]["first_step"].number, 2);
  EXPECT_EQ(trace["otherData"]["end_step"].number, 4);
  int forwards = 0, all_reduces = 0;
  for (const auto& e : trace["traceEvents"].items) {
    EXPECT_EQ(e["pid"].number, 1);
    if (e["ph"].text == "M") continue;
    if (e["name"].text == "forward") {
      const double step = e["args"]["step"].number;
      EXPECT_TRUE(step == 2 || step == 3) << "a span of step " << step << " outside the window";
      ++forwards;
      EXPECT_EQ(e["tid"].number, kComputeLane);
      EXPECT_GE(e["dur"].number, 0);
    }
    if (e["name"].text == "all-reduce") {
      ++all_reduces;
      EXPECT_NEAR(e["dur"].number, 1500, 0.01);
      EXPECT_EQ(e["args"]["bucket"].number, 0);
    }
  }
  // add_span records whatever it is given (the caller checks recording()),
  // Span only while the window is open.
  EXPECT_EQ(forwards, 2);
  EXPECT_EQ(all_reduces, 4);
}

TEST(Timeline, ARunThatEndsInsideTheWindowKeepsWhatItRecordedAndOneThatNeverReachedItWritesNothing) {
  TempDir dir;
  {
    Timeline timeline(dir / "short.json", 0, 1, StepWindow{1, 10});
    for (int64_t step = 0; step < 3; ++step) {
      timeline.begin_step(step);
      Timeline::Span span(&timeline, kDataLane, "load batch", "data");
    }
  }
  const JsonValue trace = read_json_file(dir / "short.json");
  int loads = 0;
  for (const auto& e : trace["traceEvents"].items) loads += e["name"].text == "load batch";
  EXPECT_EQ(loads, 2);
  {
    Timeline timeline(dir / "never.json", 0, 1, StepWindow{5, 6});
    timeline.begin_step(0);
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "never.json"));
}

TEST(Timeline, AFolderThatCannotBeCreatedIsAUserErrorBeforeAnythingRuns) {
  EXPECT_THROW(Timeline("/proc/forbidden/trace.json", 0, 1, StepWindow{}), UserError);
}
