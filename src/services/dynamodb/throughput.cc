#include "services/dynamodb/throughput.h"

#include <algorithm>

namespace nimbus::services::dynamodb {

ThroughputLimiter::Bucket& ThroughputLimiter::refill(const std::string& table_id, Kind kind,
                                                     int64_t units_per_second) {
  double rate = static_cast<double>(units_per_second);
  double capacity = rate * kBurstSeconds;
  TimePoint now = clock_.now();
  auto [it, created] = buckets_.try_emplace({table_id, kind});
  Bucket& b = it->second;
  if (created) {
    b.tokens = capacity;
  } else {
    double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(capacity, b.tokens + elapsed * rate);
  }
  b.at = now;
  return b;
}

bool ThroughputLimiter::admit(const std::string& table_id, Kind kind, int64_t units_per_second) {
  if (units_per_second <= 0) return true;
  std::lock_guard lk(mu_);
  return refill(table_id, kind, units_per_second).tokens > 0;
}

void ThroughputLimiter::consume(const std::string& table_id, Kind kind, int64_t units_per_second,
                                double units) {
  if (units_per_second <= 0) return;
  std::lock_guard lk(mu_);
  refill(table_id, kind, units_per_second).tokens -= units;
}

void ThroughputLimiter::forget(const std::string& table_id) {
  std::lock_guard lk(mu_);
  buckets_.erase({table_id, Kind::kRead});
  buckets_.erase({table_id, Kind::kWrite});
}

}  // namespace nimbus::services::dynamodb
