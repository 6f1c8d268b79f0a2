// Put/Get/Delete/ListProvisionedConcurrencyConfigs
// (/2019-09-30/functions/NAME/provisioned-concurrency), and keeping the pool's
// provisioned instances in step with the configurations (sync_provisioned).
#include <boost/json.hpp>

#include "base/ids.h"
#include "base/time_format.h"
#include "services/lambda/lambda_service.h"
#include "services/lambda/names.h"
#include "services/lambda/provisioned.h"

namespace nimbus::services::lambda {

namespace json = boost::json;
using aws::ApiError;

namespace {

ApiError config_not_found() {
  return ApiError::make(404, "ProvisionedConcurrencyConfigNotFoundException",
                        "No Provisioned Concurrency Config found for this function");
}

std::string function_arn_of(const FunctionRecord& rec) {
  auto* v = rec.latest.config.if_contains("FunctionArn");
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

json::object LambdaService::provisioned_answer(const FunctionRecord& rec, const std::string& name,
                                               const std::string& qualifier,
                                               const ProvisionedConfig& c, bool with_arn) const {
  auto view = provisioned_view(
      provisioned_shares(rec, qualifier, c.requested),
      [&](const std::string& version) { return pool_.provisioned(name + ":" + version); });
  json::object o;
  if (with_arn) o["FunctionArn"] = function_arn_of(rec) + ":" + qualifier;
  o["RequestedProvisionedConcurrentExecutions"] = c.requested;
  o["AvailableProvisionedConcurrentExecutions"] = view.available;
  o["AllocatedProvisionedConcurrentExecutions"] = view.allocated;
  o["Status"] = view.status;
  if (!view.status_reason.empty()) o["StatusReason"] = view.status_reason;
  o["LastModified"] = c.last_modified;
  return o;
}

void LambdaService::provisioned_api(aws::Call& call, const Route& r) {
  auto ref = parse_function_ref_with_qualifier(r.function,
                                               http::query_value(call.http.query, "Qualifier"));
  if (!ref) return reply_error(call, ref.error());
  std::string qualifier = ref->qualifier;
  const std::string& name = ref->name;
  auto rec = registry_.get(name);
  if (!rec)
    return reply_error(call, ApiError::resource_not_found(
                                 "Function not found: " +
                                 function_arn(call.region, call.account_id, name, qualifier)));

  if (r.op == "ListProvisionedConcurrencyConfigs") {
    size_t max = 50;
    std::string max_s = http::query_value(call.http.query, "MaxItems");
    if (!max_s.empty()) {
      int m = 0;
      try {
        m = std::stoi(max_s);
      } catch (...) {
      }
      if (m < 1 || m > 50)
        return reply_error(call, constraint_error(max_s, "maxItems",
                                                  m < 1 ? "Member must have value greater than or "
                                                          "equal to 1"
                                                        : "Member must have value less than or "
                                                          "equal to 50"));
      max = static_cast<size_t>(m);
    }
    // The marker is the last qualifier of the previous page.
    std::string marker = http::query_value(call.http.query, "Marker");
    json::array page;
    std::string next;
    for (auto it = marker.empty() ? rec->provisioned.begin() : rec->provisioned.upper_bound(marker);
         it != rec->provisioned.end(); ++it) {
      if (page.size() == max) {
        next = std::prev(it)->first;
        break;
      }
      page.push_back(provisioned_answer(*rec, name, it->first, it->second, true));
    }
    json::object out{{"ProvisionedConcurrencyConfigs", std::move(page)}};
    if (!next.empty()) out["NextMarker"] = next;
    return answer(call, 200, out);
  }

  if (r.op == "GetProvisionedConcurrencyConfig") {
    if (auto c = check_provisioned_qualifier(*rec, qualifier, ProvisionedOp::kGet); !c)
      return reply_error(call, c.error());
    auto it = rec->provisioned.find(qualifier);
    if (it == rec->provisioned.end()) return reply_error(call, config_not_found());
    return answer(call, 200, provisioned_answer(*rec, name, qualifier, it->second, false));
  }

  if (r.op == "DeleteProvisionedConcurrencyConfig") {
    auto res = registry_.update(name, [&](FunctionRecord& f) -> Result<void, ApiError> {
      if (auto c = check_provisioned_qualifier(f, qualifier, ProvisionedOp::kDelete); !c) return c;
      f.provisioned.erase(qualifier);  // deleting an absent configuration is not an error
      return {};
    });
    if (!res) return reply_error(call, res.error());
    sync_provisioned(name);
    sync_reserved_total();
    http::Response resp;
    resp.status = 204;
    resp.headers.set("x-amzn-RequestId", call.request_id);
    return call.reply(std::move(resp));
  }

  // PutProvisionedConcurrencyConfig
  boost::system::error_code ec;
  auto body = json::parse(call.http.body.empty() ? std::string_view("{}") : call.http.body, ec);
  if (ec || !body.is_object())
    return reply_error(call, ApiError::make(400, "InvalidRequestContentException",
                                            "Could not parse request body into json"));
  auto* pv = body.as_object().if_contains("ProvisionedConcurrentExecutions");
  if (!pv || pv->is_null())
    return reply_error(call, ApiError::validation(
                                 "1 validation error detected: Value null at "
                                 "'provisionedConcurrentExecutions' failed to satisfy constraint: "
                                 "Member must not be null"));
  if (!pv->is_int64() && !pv->is_uint64())
    return reply_error(
        call, ApiError::invalid_parameter("ProvisionedConcurrentExecutions must be an integer"));
  auto put = put_provisioned_concurrency(name, qualifier, pv->to_number<int64_t>());
  if (!put) return reply_error(call, put.error());
  answer(call, 202, put.value());
}

Result<json::object, ApiError> LambdaService::put_provisioned_concurrency(
    const std::string& name, const std::string& qualifier, int64_t want64) {
  if (want64 < 1)
    return fail(constraint_error(std::to_string(want64), "provisionedConcurrentExecutions",
                                 "Member must have value greater than or equal to 1"));
  const int account = pool_.account_concurrency();
  if (want64 > account)
    return fail(
        ApiError::invalid_parameter("Specified ConcurrentExecutions for function is greater than "
                                    "account's unreserved concurrency [" +
                                    std::to_string(account) + "]."));
  const int want = static_cast<int>(want64);
  // What other functions take out of the account's pool: their reservation,
  // or (without one) their provisioned concurrency.
  int others_carved = 0;
  for (const auto& other : registry_.names())
    if (other != name)
      if (auto o = registry_.get(other))
        others_carved += o->reserved.value_or(provisioned_total(*o));
  ProvisionedConfig saved;
  FunctionRecord after;
  auto res = registry_.update(name, [&](FunctionRecord& f) -> Result<void, ApiError> {
    if (auto c = check_provisioned_qualifier(f, qualifier, ProvisionedOp::kPut); !c) return c;
    int rest = provisioned_total(f);
    if (auto it = f.provisioned.find(qualifier); it != f.provisioned.end())
      rest -= it->second.requested;
    if (f.reserved) {
      if (rest + want > *f.reserved)
        return fail(ApiError::invalid_parameter(
            "Requested Provisioned Concurrency should not be greater than the "
            "reservedConcurrentExecution for function"));
    } else if (account - others_carved - rest - want < kMinUnreservedConcurrency) {
      return fail(ApiError::invalid_parameter(
          "Specified ConcurrentExecutions for function decreases account's "
          "UnreservedConcurrentExecution below its minimum value of [" +
          std::to_string(kMinUnreservedConcurrency) + "]."));
    }
    saved = ProvisionedConfig{want, iso8601_ms(clock_.wall_ms(), "+0000")};
    f.provisioned[qualifier] = saved;
    after = f;
    return {};
  });
  if (!res) return fail(res.error());
  sync_provisioned(name);
  sync_reserved_total();
  return provisioned_answer(after, name, qualifier, saved, false);
}

Result<int, ApiError> LambdaService::provisioned_concurrency(const std::string& name,
                                                             const std::string& qualifier) const {
  auto rec = registry_.get(name);
  if (!rec) return fail(ApiError::resource_not_found("Function not found: " + name));
  if (auto c = check_provisioned_qualifier(*rec, qualifier, ProvisionedOp::kGet); !c)
    return fail(c.error());
  auto it = rec->provisioned.find(qualifier);
  return it == rec->provisioned.end() ? 0 : it->second.requested;
}

int LambdaService::in_flight(const std::string& name, const std::string& qualifier) const {
  auto rec = registry_.get(name);
  if (!rec) return 0;
  // The versions the qualifier's calls run on: its own, or an alias's (both
  // of them while it routes a weight to a second one).
  std::vector<std::string> versions{qualifier};
  if (auto a = rec->aliases.find(qualifier); a != rec->aliases.end()) {
    versions.clear();
    // (A large count, so that a routed weight of 0.1 % still gets a share.)
    for (const auto& [version, n] : provisioned_shares(*rec, qualifier, 1000))
      versions.push_back(version);
  }
  int n = 0;
  for (const auto& version : versions) {
    auto s = pool_.stats(name + ":" + version);
    n += s.busy + s.queued + s.waiting;
  }
  return n;
}

void LambdaService::sync_provisioned(const std::string& function) {
  // The record is read under the lock: concurrent changes then reach the
  // pool in the order they were read, the newest last.
  std::lock_guard lk(provisioned_mu_);
  auto rec = registry_.get(function);
  std::map<std::string, int> want;
  if (rec) want = provisioned_by_version(*rec);
  auto& have = provisioned_specs_[function];
  for (auto it = have.begin(); it != have.end();) {
    if (want.contains(it->first)) {
      ++it;
      continue;
    }
    pool_.set_provisioned(*it->second, 0);
    it = have.erase(it);
  }
  for (const auto& [version, n] : want) {
    auto target = registry_.resolve(function, version, 0);
    if (!target) continue;
    have[version] = target->spec;
    pool_.set_provisioned(*target->spec, n);
  }
  if (have.empty()) provisioned_specs_.erase(function);
}

void LambdaService::sync_reserved_total() {
  int carved = 0;
  for (const auto& n : registry_.names())
    if (auto rec = registry_.get(n)) carved += rec->reserved.value_or(provisioned_total(*rec));
  pool_.set_reserved_total(carved);
}

}  // namespace nimbus::services::lambda
