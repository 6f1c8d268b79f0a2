// What the files of ApiGatewayService (the management API) share: the store
// key prefixes of its records, its AWS error factories and accessors of the
// JSON records it keeps. Internal to src/services/apigateway/.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/api_error.h"
#include "base/result.h"
#include "services/apigateway/openapi_import.h"
#include "services/apigateway/usage.h"

namespace nimbus::services::apigateway::mgmt {

inline constexpr std::string_view kRestPrefix = "apigateway/rest/";
inline constexpr std::string_view kHttpPrefix = "apigateway/http/";
inline constexpr std::string_view kKeyPrefix = "apigateway/key/";
inline constexpr std::string_view kPlanPrefix = "apigateway/plan/";

aws::ApiError not_found(std::string msg);
aws::ApiError bad_request(std::string msg);
aws::ApiError conflict(std::string msg);

// An id like API Gateway's: `n` characters of [a-z0-9].
std::string new_id(size_t n = 10);
// A member as a string / object, or empty when absent or of another type.
std::string str(const boost::json::object& o, std::string_view k);
boost::json::object obj(const boost::json::object& o, std::string_view k);
// A member that must be a map of strings (tags, variables); absent: empty.
Result<std::vector<std::pair<std::string, std::string>>, aws::ApiError> string_map(
    const boost::json::object& in, std::string_view key);
double epoch_seconds(int64_t ms);

// A stage record as GetStage shows it (cache cluster state, method settings).
boost::json::object stage_view(const boost::json::object& st);
// cacheClusterEnabled and cacheClusterSize of CreateStage / CreateDeployment.
Result<void, aws::ApiError> set_cache_cluster(boost::json::object& st,
                                              const boost::json::object& in);
// A usage plan record's quota, if it has one.
std::optional<QuotaLimits> plan_quota(const boost::json::object& plan);
// An imported OpenAPI document compiled, or BadRequest naming what is refused.
Result<ApiSpec, aws::ApiError> compile_body(const std::string& body, ApiKind kind);

}  // namespace nimbus::services::apigateway::mgmt
