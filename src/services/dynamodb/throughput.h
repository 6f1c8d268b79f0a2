// Provisioned throughput as DynamoDB enforces it on PROVISIONED tables: a
// token bucket per table and direction that refills at the provisioned units
// per second and holds up to 300 seconds of them (DynamoDB's burst capacity:
// unused capacity of the last five minutes can be spent at once). A request
// is admitted while the bucket holds any units and then pays what it
// consumed, so one large read may take the bucket below zero and the next
// requests wait for the refill. PAY_PER_REQUEST tables are never throttled.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "base/clock.h"

namespace nimbus::services::dynamodb {

class ThroughputLimiter {
 public:
  explicit ThroughputLimiter(Clock& clock) : clock_(clock) {}

  static constexpr double kBurstSeconds = 300;

  enum class Kind { kRead, kWrite };

  // Whether a request may run now against `units_per_second` of provisioned
  // capacity (table_id keys the bucket; a new table starts with a full burst).
  bool admit(const std::string& table_id, Kind kind, int64_t units_per_second);
  // What an admitted request consumed.
  void consume(const std::string& table_id, Kind kind, int64_t units_per_second, double units);
  // Forgets a table (deleted, or its throughput changed).
  void forget(const std::string& table_id);

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint at{};
  };
  Bucket& refill(const std::string& table_id, Kind kind, int64_t units_per_second);

  Clock& clock_;
  std::mutex mu_;
  std::map<std::pair<std::string, Kind>, Bucket> buckets_;
};

}  // namespace nimbus::services::dynamodb
