#include "train/metrics_file.h"

#include "core/console.h"
#include "core/errors.h"

#include <cstdio>
#include <vector>

namespace tutorial {

namespace {

// The lines of `path` (if any) for epochs 1..completed_epochs.
std::vector<std::string> lines_of_epochs(const std::string& path, int64_t completed_epochs) {
  std::vector<std::string> kept;
  if (completed_epochs <= 0) return kept;
  std::ifstream previous(path);
  std::string line;
  while (std::getline(previous, line)) {
    long long epoch = 0;
    if (std::sscanf(line.c_str(), "{\"epoch\": %lld,", &epoch) == 1 && epoch >= 1 &&
        epoch <= completed_epochs) {
      kept.push_back(line);
    }
  }
  return kept;
}

}  // namespace

MetricsFile::MetricsFile(const std::string& path, int64_t completed_epochs, bool writes)
    : path_(path) {
  if (!writes) return;
  const std::vector<std::string> kept = lines_of_epochs(path, completed_epochs);
  stream_.open(path, std::ios::trunc);
  if (!stream_) throw UserError(path + ": cannot open for writing");
  for (const std::string& line : kept) stream_ << line << '\n';
  stream_ << std::flush;
}

void MetricsFile::append(const EpochRecord& r) {
  if (!stream_.is_open()) return;  // a rank that writes nothing
  stream_ << strprintf(
                 "{\"epoch\": %lld, \"step\": %lld, \"lr\": %.6g, \"train_loss\": %.6f, "
                 "\"test_loss\": %.6f, \"test_accuracy\": %.6f, \"epoch_seconds\": %.3f, "
                 "\"samples_per_second\": %.1f}",
                 static_cast<long long>(r.epoch), static_cast<long long>(r.step), r.lr,
                 r.train_loss, r.test_loss, r.test_accuracy, r.epoch_seconds,
                 r.samples_per_second)
          << '\n'
          << std::flush;
  if (!stream_) throw UserError(path_ + ": write failed (disk full?)");
}

}  // namespace tutorial
