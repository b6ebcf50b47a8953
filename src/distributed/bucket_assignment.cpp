#include "distributed/bucket_assignment.h"

namespace tutorial {

std::vector<std::vector<size_t>> compute_bucket_assignment_by_size(
    const std::vector<BucketedParameter>& parameters, double bucket_cap_mb,
    double first_bucket_cap_mb) {
  constexpr double kBytesPerMb = 1024.0 * 1024.0;
  std::vector<std::vector<size_t>> buckets;
  int64_t bucket_numel = 0;  // elements in buckets.back()
  for (size_t k = parameters.size(); k-- > 0;) {
    const auto& parameter = parameters[k];
    bool new_bucket = buckets.empty();
    if (!new_bucket) {
      const auto& first = parameters[buckets.back().front()];
      const double cap = (buckets.size() == 1 ? first_bucket_cap_mb : bucket_cap_mb) * kBytesPerMb;
      const int64_t bytes = bucket_numel * static_cast<int64_t>(c10::elementSize(parameter.dtype));
      new_bucket = first.dtype != parameter.dtype || first.device != parameter.device ||
                   static_cast<double>(bytes) >= cap;
    }
    if (new_bucket) {
      buckets.emplace_back();
      bucket_numel = 0;
    }
    buckets.back().push_back(k);
    bucket_numel += parameter.numel;
  }
  return buckets;
}

}  // namespace tutorial
