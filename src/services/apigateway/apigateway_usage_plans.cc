// ApiGatewayService: API keys, usage plans, usage plan keys and GetUsage.
#include "services/apigateway/apigateway_service.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <set>

#include "base/ids.h"
#include "base/text.h"
#include "base/time_format.h"
#include "services/apigateway/management_records.h"

namespace nimbus::services::apigateway {

namespace json = boost::json;
using aws::ApiError;
using namespace mgmt;

// --- API keys and usage plans ----------------------------------------------

ApiGatewayService::Out ApiGatewayService::create_api_key(const Obj& in) {
  std::string value = str(in, "value");
  if (value.empty()) value = random_hex(20);
  if (value.size() < 20) return fail(bad_request("API Key value should be at least 20 characters"));
  for (auto& [id, k] : keys_)
    if (str(k, "value") == value) return fail(conflict("API Key already exists"));
  auto tag_list = string_map(in, "tags");
  if (!tag_list) return fail(tag_list.error());
  std::string id = new_id();
  double now = epoch_seconds(clock_.wall_ms());
  json::object k{
      {"id", id},
      {"value", value},
      {"name", str(in, "name")},
      {"enabled",
       in.contains("enabled") && in.at("enabled").is_bool() ? in.at("enabled").as_bool() : false},
      {"createdDate", now},
      {"lastUpdatedDate", now},
      {"stageKeys", json::array{}}};
  if (auto d = str(in, "description"); !d.empty()) k["description"] = d;
  if (auto c = str(in, "customerId"); !c.empty()) k["customerId"] = c;
  json::object tags;
  for (auto& [tk, tv] : *tag_list) tags[tk] = tv;
  k["tags"] = std::move(tags);
  keys_[id] = k;
  if (auto r = save(std::string(kKeyPrefix) + id, &keys_[id]); !r) return fail(r.error());
  return Answer{201, k};
}

ApiGatewayService::Out ApiGatewayService::get_api_keys(const std::string& query) {
  bool values = http::query_value(query, "includeValues") == "true";
  std::string name = http::query_value(query, "name");
  json::array items;
  for (auto& [id, k] : keys_) {
    if (!name.empty() && !str(k, "name").starts_with(name)) continue;
    json::object o = k;
    if (!values) o.erase("value");
    items.push_back(std::move(o));
  }
  return Answer{200, json::object{{"item", std::move(items)}}};
}

ApiGatewayService::Out ApiGatewayService::get_api_key(const std::string& id,
                                                      const std::string& query) {
  auto it = keys_.find(id);
  if (it == keys_.end()) return fail(not_found("Invalid API Key identifier specified"));
  json::object o = it->second;
  if (http::query_value(query, "includeValue") != "true") o.erase("value");
  return Answer{200, o};
}

ApiGatewayService::Out ApiGatewayService::delete_api_key(const std::string& id) {
  if (!keys_.erase(id)) return fail(not_found("Invalid API Key identifier specified"));
  // The key leaves every usage plan with it.
  for (auto& [pid, p] : plans_) {
    auto* ks = p.if_contains("keys");
    if (!ks || !ks->is_array()) continue;
    auto& a = ks->as_array();
    for (auto it = a.begin(); it != a.end();)
      it = it->is_string() && it->as_string() == id ? a.erase(it) : std::next(it);
    if (auto r = store_.put(std::string(kPlanPrefix) + pid, json::serialize(p)); !r)
      return fail(ApiError::make(500, "InternalFailure", r.error().message));
  }
  if (auto r = save(std::string(kKeyPrefix) + id, nullptr); !r) return fail(r.error());
  return Answer{202, nullptr};
}

namespace {
json::object plan_view(const json::object& p) {
  json::object o = p;
  o.erase("keys");
  return o;
}

// The throttle and quota members of CreateUsagePlan (and of a plan patched by
// UpdateUsagePlan), checked as API Gateway does; an absent member is removed.
Result<void, ApiError> set_plan_limits(json::object& p, const json::object& in) {
  p.erase("throttle");
  p.erase("quota");
  if (auto* t = in.if_contains("throttle"); t && t->is_object()) {
    json::object th;
    if (auto* b = t->as_object().if_contains("burstLimit"); b && b->is_number()) {
      if (b->to_number<double>() < 0) return fail(bad_request("burstLimit must be non-negative"));
      th["burstLimit"] = b->to_number<int64_t>();
    }
    if (auto* r = t->as_object().if_contains("rateLimit"); r && r->is_number()) {
      if (r->to_number<double>() < 0) return fail(bad_request("rateLimit must be non-negative"));
      th["rateLimit"] = r->to_number<double>();
    }
    p["throttle"] = std::move(th);
  }
  if (auto* q = in.if_contains("quota"); q && q->is_object()) {
    auto& qo = q->as_object();
    std::string period = str(qo, "period");
    if (period != "DAY" && period != "WEEK" && period != "MONTH")
      return fail(bad_request("Invalid quota period: DAY, WEEK or MONTH"));
    auto* l = qo.if_contains("limit");
    if (!l || !l->is_number() || l->to_number<double>() < 0)
      return fail(bad_request("Invalid quota limit"));
    int64_t offset = 0;
    if (auto* o = qo.if_contains("offset"); o && o->is_number()) offset = o->to_number<int64_t>();
    if ((period == "DAY" && offset != 0) || (period == "WEEK" && (offset < 0 || offset > 6)) ||
        (period == "MONTH" && offset != 0))
      return fail(
          bad_request("Invalid quota offset " + std::to_string(offset) + " for period " + period));
    p["quota"] =
        json::object{{"limit", l->to_number<int64_t>()}, {"offset", offset}, {"period", period}};
  }
  return {};
}
}  // namespace

ApiGatewayService::Out ApiGatewayService::create_usage_plan(const Obj& in) {
  std::string name = str(in, "name");
  if (name.empty()) return fail(bad_request("Invalid Usage Plan name specified"));
  json::object p{{"id", new_id()}, {"name", name}, {"keys", json::array{}}};
  if (auto d = str(in, "description"); !d.empty()) p["description"] = d;
  json::array stages;
  if (auto* s = in.if_contains("apiStages"); s && s->is_array()) {
    for (auto& v : s->as_array()) {
      if (!v.is_object()) return fail(bad_request("apiStages must be a list of objects"));
      std::string api = str(v.as_object(), "apiId"), stage = str(v.as_object(), "stage");
      auto rec = rest_api(api);
      if (!rec) return fail(rec.error());
      if (!obj(**rec, "stages").contains(stage))
        return fail(not_found("Invalid stage identifier specified"));
      stages.push_back(json::object{{"apiId", api}, {"stage", stage}});
    }
  }
  p["apiStages"] = std::move(stages);
  if (auto r = set_plan_limits(p, in); !r) return fail(r.error());
  auto tag_list = string_map(in, "tags");
  if (!tag_list) return fail(tag_list.error());
  json::object tags;
  for (auto& [k, v] : *tag_list) tags[k] = v;
  p["tags"] = std::move(tags);
  std::string id = str(p, "id");
  plans_[id] = p;
  if (auto r = save(std::string(kPlanPrefix) + id, &plans_[id]); !r) return fail(r.error());
  return Answer{201, plan_view(p)};
}

ApiGatewayService::Out ApiGatewayService::get_usage_plans() {
  json::array items;
  for (auto& [id, p] : plans_) items.push_back(plan_view(p));
  return Answer{200, json::object{{"item", std::move(items)}}};
}

ApiGatewayService::Out ApiGatewayService::get_usage_plan(const std::string& id) {
  auto it = plans_.find(id);
  if (it == plans_.end()) return fail(not_found("Invalid Usage Plan ID specified"));
  return Answer{200, plan_view(it->second)};
}

ApiGatewayService::Out ApiGatewayService::update_usage_plan(const std::string& id, const Obj& in) {
  auto it = plans_.find(id);
  if (it == plans_.end()) return fail(not_found("Invalid Usage Plan ID specified"));
  auto* ops = in.if_contains("patchOperations");
  if (ops && !ops->is_array()) return fail(bad_request("patchOperations must be a list"));
  // Every operation applies to a copy: one bad operation changes nothing.
  json::object p = it->second;
  json::object limits;
  for (auto k : {"throttle", "quota"})
    if (auto* v = p.if_contains(k)) limits[k] = *v;
  for (const auto& opv : ops ? ops->as_array() : json::array{}) {
    if (!opv.is_object()) return fail(bad_request("patchOperations must be a list of objects"));
    const auto& o = opv.as_object();
    std::string op = str(o, "op"), path = str(o, "path"), value = str(o, "value");
    auto number = [&]() -> Result<double, ApiError> {
      double d = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), d);
      if (ec != std::errc{} || end != value.data() + value.size())
        return fail(bad_request("Invalid value for " + path + ": '" + value + "'"));
      return d;
    };
    if (path == "/name" || path == "/description") {
      if (op != "replace")
        return fail(bad_request("Invalid patch operation '" + op + "' on " + path + " (replace)"));
      p[path.substr(1)] = value;
    } else if (path == "/throttle" || path == "/quota") {
      if (op != "remove")
        return fail(bad_request("Invalid patch operation '" + op + "' on " + path + " (remove)"));
      limits.erase(path.substr(1));
    } else if (path == "/throttle/burstLimit" || path == "/throttle/rateLimit" ||
               path == "/quota/limit" || path == "/quota/offset" || path == "/quota/period") {
      if (op != "replace")
        return fail(bad_request("Invalid patch operation '" + op + "' on " + path + " (replace)"));
      auto slash = path.find('/', 1);
      std::string group = path.substr(1, slash - 1), member = path.substr(slash + 1);
      if (!limits[group].is_object()) limits[group] = json::object{};
      if (member == "period") {
        limits[group].as_object()[member] = value;
      } else {
        auto d = number();
        if (!d) return fail(d.error());
        if (member == "rateLimit")
          limits[group].as_object()[member] = *d;
        else
          limits[group].as_object()[member] = static_cast<int64_t>(*d);
      }
    } else if (path == "/apiStages") {
      // value "apiId:stage", as AWS's patch takes it.
      auto colon = value.find(':');
      if (colon == std::string::npos || (op != "add" && op != "remove"))
        return fail(bad_request("Invalid patch operation '" + op + "' on /apiStages with value '" +
                                value + "' (add or remove of API_ID:STAGE)"));
      std::string api = value.substr(0, colon), stage = value.substr(colon + 1);
      auto& stages = p["apiStages"].as_array();
      auto same = [&](const json::value& v) {
        return str(v.as_object(), "apiId") == api && str(v.as_object(), "stage") == stage;
      };
      auto found = std::find_if(stages.begin(), stages.end(), same);
      if (op == "remove") {
        if (found == stages.end())
          return fail(not_found("Invalid API Stage {api: " + api + ", stage: " + stage + "}"));
        stages.erase(found);
      } else if (found == stages.end()) {
        auto rec = rest_api(api);
        if (!rec) return fail(rec.error());
        if (!obj(**rec, "stages").contains(stage))
          return fail(not_found("Invalid stage identifier specified"));
        stages.push_back(json::object{{"apiId", api}, {"stage", stage}});
      }
    } else {
      return fail(bad_request("Invalid patch path '" + path + "'"));
    }
  }
  if (auto r = set_plan_limits(p, limits); !r) return fail(r.error());
  json::object before = std::exchange(it->second, std::move(p));
  if (auto r = save(std::string(kPlanPrefix) + id, &it->second); !r) {
    it->second = std::move(before);
    return fail(r.error());
  }
  return Answer{200, plan_view(it->second)};
}

ApiGatewayService::Out ApiGatewayService::delete_usage_plan(const std::string& id) {
  if (!plans_.erase(id)) return fail(not_found("Invalid Usage Plan ID specified"));
  if (auto r = save(std::string(kPlanPrefix) + id, nullptr); !r) return fail(r.error());
  return Answer{202, nullptr};
}

ApiGatewayService::Out ApiGatewayService::create_usage_plan_key(const std::string& plan,
                                                                const Obj& in) {
  auto it = plans_.find(plan);
  if (it == plans_.end()) return fail(not_found("Invalid Usage Plan ID specified"));
  std::string key = str(in, "keyId");
  if (str(in, "keyType") != "API_KEY") return fail(bad_request("Invalid key type specified"));
  auto k = keys_.find(key);
  if (k == keys_.end()) return fail(not_found("Invalid API Key identifier specified"));
  auto& ks = it->second["keys"].as_array();
  for (auto& v : ks)
    if (v.as_string() == key) return fail(conflict("Usage Plan Key already exists"));
  ks.emplace_back(key);
  if (auto r = save(std::string(kPlanPrefix) + plan, &it->second); !r) {
    ks.pop_back();
    return fail(r.error());
  }
  return Answer{201, json::object{{"id", key},
                                  {"type", "API_KEY"},
                                  {"value", str(k->second, "value")},
                                  {"name", str(k->second, "name")}}};
}

ApiGatewayService::Out ApiGatewayService::get_usage_plan_keys(const std::string& plan) {
  auto it = plans_.find(plan);
  if (it == plans_.end()) return fail(not_found("Invalid Usage Plan ID specified"));
  json::array items;
  for (auto& v : it->second["keys"].as_array()) {
    auto k = keys_.find(std::string(v.as_string()));
    if (k == keys_.end()) continue;
    items.push_back(json::object{{"id", k->first},
                                 {"type", "API_KEY"},
                                 {"value", str(k->second, "value")},
                                 {"name", str(k->second, "name")}});
  }
  return Answer{200, json::object{{"item", std::move(items)}}};
}

ApiGatewayService::Out ApiGatewayService::delete_usage_plan_key(const std::string& plan,
                                                                const std::string& key) {
  auto it = plans_.find(plan);
  if (it == plans_.end()) return fail(not_found("Invalid Usage Plan ID specified"));
  auto& ks = it->second["keys"].as_array();
  for (auto v = ks.begin(); v != ks.end(); ++v)
    if (v->as_string() == key) {
      ks.erase(v);
      if (auto r = save(std::string(kPlanPrefix) + plan, &it->second); !r) return fail(r.error());
      return Answer{202, nullptr};
    }
  return fail(not_found("Invalid API Key identifier specified"));
}

ApiGatewayService::Out ApiGatewayService::get_usage(const std::string& plan,
                                                    const std::string& query) {
  auto it = plans_.find(plan);
  if (it == plans_.end()) return fail(not_found("Invalid Usage Plan ID specified"));
  std::string start_text = http::query_value(query, "startDate");
  std::string end_text = http::query_value(query, "endDate");
  auto start = parse_day(start_text);
  auto end = parse_day(end_text);
  if (!start) return fail(bad_request("Invalid start date: '" + start_text + "'"));
  if (!end) return fail(bad_request("Invalid end date: '" + end_text + "'"));
  if (*end < *start) return fail(bad_request("The end date must not be before the start date"));
  // Nimbus's own bound, so one call cannot build millions of entries.
  if (*end - *start >= 366) return fail(bad_request("The date range must not exceed 366 days"));
  size_t limit = 25;
  if (std::string l = http::query_value(query, "limit"); !l.empty()) {
    int v = 0;
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), v);
    if (ec != std::errc{} || p != l.data() + l.size() || v < 1 || v > 500)
      return fail(bad_request("Invalid limit: '" + l + "'"));
    limit = static_cast<size_t>(v);
  }
  std::string key_filter = http::query_value(query, "keyId");
  std::string position = http::query_value(query, "position");

  // The quota as the plan has it now: "remaining" is measured against it.
  std::optional<QuotaLimits> quota = plan_quota(it->second);
  // The first day whose count matters: the start of the window startDate is in.
  int64_t first = quota ? std::min(*start, quota_window_first_day(
                                               *quota, quota_window(*quota, *start * 86'400'000)))
                        : *start;

  // Every key in the plan, and keys with counts that left it since.
  std::map<std::string, std::map<int64_t, int64_t>> counts;
  if (auto* ks = it->second.if_contains("keys"); ks && ks->is_array())
    for (auto& k : ks->as_array())
      if (k.is_string()) counts[std::string(k.as_string())];
  gateway_.flush_usage();  // counts are written a second late at most: read them all
  std::string prefix = std::string(UsageMeter::kStorePrefix) + plan + "/";
  for (auto& [k, v] : store_.scan(prefix)) {
    std::string_view rest = std::string_view(k).substr(prefix.size());  // KEY/YYYY-MM-DD
    auto slash = rest.rfind('/');
    if (slash == std::string_view::npos) continue;
    auto day = parse_day(rest.substr(slash + 1));
    int64_t used = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), used);
    if (!day || ec != std::errc{} || *day < first || *day > *end) continue;
    counts[std::string(rest.substr(0, slash))][*day] = used;
  }

  json::object items;
  std::string next;
  for (auto c = position.empty() ? counts.begin() : counts.lower_bound(position); c != counts.end();
       ++c) {
    if (!key_filter.empty() && c->first != key_filter) continue;
    if (items.size() == limit) {
      next = c->first;
      break;
    }
    json::array days;
    int64_t window = INT64_MIN, window_used = 0;
    for (int64_t day = first; day <= *end; ++day) {
      auto d = c->second.find(day);
      int64_t used = d == c->second.end() ? 0 : d->second;
      int64_t remaining = 0;
      if (quota) {
        int64_t w = quota_window(*quota, day * 86'400'000);
        if (w != window) window = w, window_used = 0;
        window_used += used;
        remaining = std::max<int64_t>(0, quota->limit - window_used);
      }
      if (day >= *start) days.push_back(json::array{used, remaining});
    }
    items[c->first] = std::move(days);
  }
  json::object out{{"usagePlanId", plan},
                   {"startDate", start_text},
                   {"endDate", end_text},
                   {"values", std::move(items)}};  // the wire name of SDKs' `items`
  if (!next.empty()) out["position"] = next;
  return Answer{200, std::move(out)};
}

}  // namespace nimbus::services::apigateway
