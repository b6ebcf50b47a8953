// DistributedDataParallel's bucket assignment (compute_bucket_assignment_by_size):
// reverse order, a small first bucket, caps in bytes, splits where the dtype
// or the device changes.
#include "distributed/bucket_assignment.h"

#include <gtest/gtest.h>

using namespace tutorial;

namespace {

using Buckets = std::vector<std::vector<size_t>>;

constexpr int64_t kFloatsPerMb = 1024 * 1024 / 4;

BucketedParameter parameter(int64_t numel, c10::ScalarType dtype = c10::kFloat,
                            c10::Device device = c10::kCPU) {
  return {numel, dtype, device};
}

}  // namespace

TEST(BucketAssignment, NoParametersNoBuckets) {
  EXPECT_TRUE(compute_bucket_assignment_by_size({}, 25, 1).empty());
}

TEST(BucketAssignment, ParametersUnderTheCapsShareOneBucketInReverseOrder) {
  const std::vector<BucketedParameter> small{parameter(10), parameter(20), parameter(30)};
  EXPECT_EQ(compute_bucket_assignment_by_size(small, 25, 1), (Buckets{{2, 1, 0}}));
}

TEST(BucketAssignment, TheFirstBucketClosesAtItsOwnCapTheOthersAtBucketCap) {
  // Half a megabyte each: the first bucket closes at 1 MB, the next ones at 2 MB.
  const std::vector<BucketedParameter> halves(8, parameter(kFloatsPerMb / 2));
  EXPECT_EQ(compute_bucket_assignment_by_size(halves, /*bucket_cap_mb=*/2, /*first=*/1),
            (Buckets{{7, 6}, {5, 4, 3, 2}, {1, 0}}));
}

TEST(BucketAssignment, CapsCountBytesNotElements) {
  const int64_t numel = kFloatsPerMb / 2;  // 0.25 MB as float16, 1 MB as float64
  const std::vector<BucketedParameter> halfs(4, parameter(numel, c10::kHalf));
  EXPECT_EQ(compute_bucket_assignment_by_size(halfs, 2, 1), (Buckets{{3, 2, 1, 0}}));
  const std::vector<BucketedParameter> doubles(4, parameter(numel, c10::kDouble));
  EXPECT_EQ(compute_bucket_assignment_by_size(doubles, 2, 1), (Buckets{{3}, {2, 1}, {0}}));
}

TEST(BucketAssignment, ADtypeChangeStartsANewBucket) {
  const std::vector<BucketedParameter> mixed{parameter(4), parameter(4), parameter(4, c10::kDouble),
                                             parameter(4)};
  EXPECT_EQ(compute_bucket_assignment_by_size(mixed, 25, 25), (Buckets{{3}, {2}, {1, 0}}));
}

TEST(BucketAssignment, ADeviceChangeStartsANewBucket) {
  const c10::Device gpu0(c10::kCUDA, 0), gpu1(c10::kCUDA, 1);
  const std::vector<BucketedParameter> placed{parameter(4), parameter(4, c10::kFloat, gpu0),
                                              parameter(4, c10::kFloat, gpu0),
                                              parameter(4, c10::kFloat, gpu1)};
  EXPECT_EQ(compute_bucket_assignment_by_size(placed, 25, 25), (Buckets{{3}, {2, 1}, {0}}));
}

TEST(BucketAssignment, AHugeParameterEndsItsBucket) {
  const auto huge = parameter(30 * kFloatsPerMb), small = parameter(10);
  // Walked first, it fills the first bucket alone.
  EXPECT_EQ(compute_bucket_assignment_by_size({small, small, huge}, 25, 1),
            (Buckets{{2}, {1, 0}}));
  // Walked after small ones, it joins their bucket and closes it.
  EXPECT_EQ(compute_bucket_assignment_by_size({small, huge, small, small}, 25, 1),
            (Buckets{{3, 2, 1}, {0}}));
  // A later bucket, capped at bucket_cap_mb, the same way.
  EXPECT_EQ(compute_bucket_assignment_by_size({small, huge, small, huge}, 25, 1),
            (Buckets{{3}, {2, 1}, {0}}));
}
