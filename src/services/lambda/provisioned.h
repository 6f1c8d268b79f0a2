// Provisioned concurrency in the Lambda service: the rules of
// Put/Get/Delete/ListProvisionedConcurrencyConfigs that only need the
// function's record, and how configurations map onto versions (what the pool
// keeps initialised). The API handlers are in provisioned_api.cc.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "aws/api_error.h"
#include "base/result.h"
#include "faas/pool.h"
#include "services/lambda/function_registry.h"

namespace nimbus::services::lambda {

// Lambda keeps this much of the account's concurrency for functions without
// reserved (or, here, provisioned) concurrency.
inline constexpr int kMinUnreservedConcurrency = 100;

enum class ProvisionedOp { kPut, kGet, kDelete };

// Checks that `qualifier` can carry (Put) or be asked about (Get, Delete) a
// provisioned concurrency configuration, with Lambda's errors: $LATEST (or
// an alias of it) → InvalidParameterValueException; a missing version or
// alias → ResourceNotFoundException; for Put, a weighted alias →
// InvalidParameterValueException, and an alias whose version has its own
// configuration (or a version an alias with one points to) →
// ResourceConflictException.
Result<void, aws::ApiError> check_provisioned_qualifier(const FunctionRecord& rec,
                                                        const std::string& qualifier,
                                                        ProvisionedOp op);

// The versions a configuration's instances belong to, with their counts: a
// version's own; an alias's version, or, while the alias routes a weight to a
// second version (UpdateAlias during a canary), the count split by weight.
std::vector<std::pair<std::string, int>> provisioned_shares(const FunctionRecord& rec,
                                                            const std::string& qualifier,
                                                            int requested);

// The instances each version needs for all of the function's configurations.
std::map<std::string, int> provisioned_by_version(const FunctionRecord& rec);

// Sum of the function's configurations' requested concurrency.
int provisioned_total(const FunctionRecord& rec);

// The configuration's status from the pool's state of its versions:
// Status, StatusReason (only when FAILED), Allocated and Available.
struct ProvisionedView {
  std::string status;  // IN_PROGRESS, READY or FAILED
  std::string status_reason;
  int allocated = 0, available = 0;
};
ProvisionedView provisioned_view(
    const std::vector<std::pair<std::string, int>>& shares,
    const std::function<faas::ProvisionedStatus(const std::string& version)>& pool_status);

}  // namespace nimbus::services::lambda
