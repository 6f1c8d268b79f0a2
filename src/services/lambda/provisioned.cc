#include "services/lambda/provisioned.h"

#include <algorithm>
#include <cmath>

#include "services/lambda/names.h"

namespace nimbus::services::lambda {

namespace json = boost::json;
using aws::ApiError;

namespace {

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string function_arn_of(const FunctionRecord& rec) {
  return str(rec.latest.config, "FunctionArn");
}

// The alias's additional version and its weight, if it routes one.
std::optional<std::pair<std::string, double>> routed_weight(const json::object& alias) {
  auto* rc = alias.if_contains("RoutingConfig");
  if (!rc || !rc->is_object()) return std::nullopt;
  auto* w = rc->as_object().if_contains("AdditionalVersionWeights");
  if (!w || !w->is_object() || w->as_object().empty()) return std::nullopt;
  const auto& [v, weight] = *w->as_object().begin();
  if (!weight.is_number()) return std::nullopt;
  return std::make_pair(std::string(v), weight.to_number<double>());
}

}  // namespace

Result<void, ApiError> check_provisioned_qualifier(const FunctionRecord& rec,
                                                   const std::string& qualifier, ProvisionedOp op) {
  const std::string unpublished =
      op == ProvisionedOp::kPut
          ? "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
          : "The function resource provided must be an alias or a published version.";
  if (qualifier.empty() || qualifier == "$LATEST")
    return fail(ApiError::invalid_parameter(unpublished));
  const std::string arn = function_arn_of(rec) + ":" + qualifier;
  if (is_version_number(qualifier)) {
    if (!rec.versions.contains(std::stoi(qualifier)))
      return fail(ApiError::resource_not_found("Function not found: " + arn));
    if (op == ProvisionedOp::kPut)
      for (const auto& [name, alias] : rec.aliases)
        if (str(alias, "FunctionVersion") == qualifier && rec.provisioned.contains(name))
          return fail(
              ApiError::resource_conflict("Version is pointed by a Provisioned Concurrency alias"));
    return {};
  }
  auto a = rec.aliases.find(qualifier);
  if (a == rec.aliases.end())
    return fail(ApiError::resource_not_found("Cannot find alias arn: " + arn));
  if (op != ProvisionedOp::kPut) return {};
  std::string version = str(a->second, "FunctionVersion");
  if (version == "$LATEST") return fail(ApiError::invalid_parameter(unpublished));
  if (routed_weight(a->second))
    return fail(ApiError::invalid_parameter(
        "Alias with weights can not be used with Provisioned Concurrency"));
  if (rec.provisioned.contains(version))
    return fail(ApiError::resource_conflict(
        "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned "
        "version"));
  return {};
}

std::vector<std::pair<std::string, int>> provisioned_shares(const FunctionRecord& rec,
                                                            const std::string& qualifier,
                                                            int requested) {
  auto a = rec.aliases.find(qualifier);
  if (a == rec.aliases.end()) return {{qualifier, requested}};
  std::string version = str(a->second, "FunctionVersion");
  if (version == "$LATEST") return {};
  auto routed = routed_weight(a->second);
  if (!routed) return {{version, requested}};
  int extra = static_cast<int>(std::lround(requested * std::clamp(routed->second, 0.0, 1.0)));
  std::vector<std::pair<std::string, int>> out;
  if (requested - extra > 0) out.emplace_back(version, requested - extra);
  if (extra > 0) out.emplace_back(routed->first, extra);
  return out;
}

std::map<std::string, int> provisioned_by_version(const FunctionRecord& rec) {
  std::map<std::string, int> out;
  for (const auto& [q, c] : rec.provisioned)
    for (const auto& [version, n] : provisioned_shares(rec, q, c.requested))
      if (is_version_number(version) && rec.versions.contains(std::stoi(version)))
        out[version] += n;
  return out;
}

int provisioned_total(const FunctionRecord& rec) {
  int total = 0;
  for (const auto& [q, c] : rec.provisioned) total += c.requested;
  return total;
}

ProvisionedView provisioned_view(
    const std::vector<std::pair<std::string, int>>& shares,
    const std::function<faas::ProvisionedStatus(const std::string& version)>& pool_status) {
  ProvisionedView v;
  bool ready = !shares.empty(), failed = false;
  for (const auto& [version, n] : shares) {
    auto s = pool_status(version);
    // Several configurations can share a version (two aliases of it): each
    // gets its part of what the version has.
    auto part = [&](int x) { return s.requested > 0 ? std::min(n, x * n / s.requested) : 0; };
    v.allocated += part(s.allocated);
    v.available += part(s.available);
    ready = ready && s.ready;
    failed = failed || (!s.ready && !s.init_error.empty());
  }
  v.status = ready ? "READY" : failed ? "FAILED" : "IN_PROGRESS";
  // Lambda's reason for an allocation whose environments fail their init.
  if (failed && !ready) v.status_reason = "FUNCTION_ERROR_INIT_FAILURE";
  return v;
}

}  // namespace nimbus::services::lambda
