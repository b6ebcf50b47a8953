// Which gradients DistributedDataParallel all-reduces together, as PyTorch's
// compute_bucket_assignment_by_size: buckets of about bucket_cap_mb, filled
// in reverse registration order (roughly the order backward produces the
// gradients), the first one smaller so that communication starts early.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tutorial {

// What bucketing needs to know of a parameter.
struct BucketedParameter {
  int64_t numel;
  c10::ScalarType dtype;
  c10::Device device;
};

// The buckets, each a list of indices into `parameters` (registration order),
// walking the parameters from the last to the first. A parameter starts a new
// bucket when its dtype or device differs from the current bucket's, or when
// the current bucket already holds at least its cap: first_bucket_cap_mb for
// the first bucket, bucket_cap_mb for the others (1 MB = 2^20 bytes). So a
// bucket passes its cap by at most its last parameter: one larger than the
// cap ends its bucket, shared only with the parameters walked before it.
std::vector<std::vector<size_t>> compute_bucket_assignment_by_size(
    const std::vector<BucketedParameter>& parameters, double bucket_cap_mb,
    double first_bucket_cap_mb);

}  // namespace tutorial
