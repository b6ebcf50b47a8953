// One JSON object per epoch, appended to a file as the run goes, so a run
// that dies keeps the epochs it finished (read it with any JSON-lines tool).
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace tutorial {

struct EpochRecord {
  int64_t epoch = 0;  // 1-based, as printed
  int64_t step = 0;   // training steps so far
  double lr = 0;
  double train_loss = 0;
  double test_loss = 0;
  double test_accuracy = 0;  // fraction in [0, 1]
  double epoch_seconds = 0;
  double samples_per_second = 0;
};

class MetricsFile {
 public:
  // Opens the file for a run that starts after `completed_epochs` epochs: a
  // fresh run (0) replaces any previous file; a resumed run keeps the lines
  // of the epochs it completed before and drops the rest (epochs a killed run
  // finished after its last checkpoint, which are trained again). One that
  // `writes` nothing (ranks other than 0) opens no file and appends nothing.
  explicit MetricsFile(const std::string& path, int64_t completed_epochs = 0, bool writes = true);
  void append(const EpochRecord& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream stream_;
};

}  // namespace tutorial
