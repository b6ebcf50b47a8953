#include "train/metrics_file.h"

#include "core/console.h"
#include "core/errors.h"

namespace tutorial {

MetricsFile::MetricsFile(const std::string& path) : path_(path), stream_(path, std::ios::trunc) {
  if (!stream_) throw UserError(path + ": cannot open for writing");
}

void MetricsFile::append(const EpochRecord& r) {
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
