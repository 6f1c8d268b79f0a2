#include "services/lambda/function_registry.h"

#include <boost/json.hpp>

#include "services/lambda/names.h"

namespace nimbus::services::lambda {

namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "lambda/fn/";

}  // namespace

json::object code_to_json(const CodeInfo& c) {
  return {{"sha256", c.sha256_b64}, {"size", c.size}, {"dir", c.dir}, {"blob", c.blob}};
}

CodeInfo code_from_json(const json::object& o) {
  CodeInfo c;
  c.sha256_b64 = json::value_to<std::string>(o.at("sha256"));
  c.size = o.at("size").to_number<int64_t>();
  c.dir = json::value_to<std::string>(o.at("dir"));
  c.blob = json::value_to<std::string>(o.at("blob"));
  return c;
}

namespace {

json::object version_to_json(const VersionRecord& v) {
  json::object o{{"config", v.config}, {"code", code_to_json(v.code)}};
  if (!v.opt_dir.empty()) o["opt_dir"] = v.opt_dir;
  return o;
}

VersionRecord version_from_json(const json::object& o) {
  VersionRecord v{o.at("config").as_object(), code_from_json(o.at("code").as_object()), {}};
  if (auto* d = o.if_contains("opt_dir"); d && d->is_string()) v.opt_dir = d->as_string();
  return v;
}

std::string str(const json::object& o, std::string_view key, std::string_view fallback = {}) {
  auto* v = o.if_contains(key);
  if (v && v->is_string()) return std::string(v->as_string());
  return std::string(fallback);
}

int64_t num(const json::object& o, std::string_view key, int64_t fallback) {
  auto* v = o.if_contains(key);
  if (v && v->is_number()) return v->to_number<int64_t>();
  return fallback;
}

}  // namespace

std::string serialize_record(const FunctionRecord& rec) {
  json::object o;
  o["latest"] = version_to_json(rec.latest);
  json::object versions;
  for (const auto& [n, v] : rec.versions) versions[std::to_string(n)] = version_to_json(v);
  o["versions"] = std::move(versions);
  json::object aliases;
  for (const auto& [n, a] : rec.aliases) aliases[n] = a;
  o["aliases"] = std::move(aliases);
  if (rec.reserved) o["reserved"] = *rec.reserved;
  if (!rec.provisioned.empty()) {
    json::object pc;
    for (const auto& [q, c] : rec.provisioned)
      pc[q] = json::object{{"requested", c.requested}, {"last_modified", c.last_modified}};
    o["provisioned"] = std::move(pc);
  }
  o["tags"] = rec.tags;
  o["next_version"] = rec.next_version;
  o["published_revision"] = rec.published_revision;
  return json::serialize(o);
}

Result<FunctionRecord> parse_record(std::string_view text) {
  try {
    auto o = json::parse(text).as_object();
    FunctionRecord rec;
    rec.latest = version_from_json(o.at("latest").as_object());
    for (const auto& [k, v] : o.at("versions").as_object())
      rec.versions[std::stoi(std::string(k))] = version_from_json(v.as_object());
    for (const auto& [k, v] : o.at("aliases").as_object())
      rec.aliases[std::string(k)] = v.as_object();
    if (auto* r = o.if_contains("reserved"))
      rec.reserved = static_cast<int>(r->to_number<int64_t>());
    if (auto* pc = o.if_contains("provisioned"))
      for (const auto& [q, c] : pc->as_object())
        rec.provisioned[std::string(q)] =
            ProvisionedConfig{static_cast<int>(c.at("requested").to_number<int64_t>()),
                              json::value_to<std::string>(c.at("last_modified"))};
    rec.tags = o.at("tags").as_object();
    rec.next_version = static_cast<int>(o.at("next_version").to_number<int64_t>());
    rec.published_revision = json::value_to<std::string>(o.at("published_revision"));
    return rec;
  } catch (const std::exception& e) {
    return fail(SysError{std::string("corrupt function record: ") + e.what()});
  }
}

FunctionRegistry::FunctionRegistry(store::Store& store) : store_(store) {}

Status FunctionRegistry::load() {
  std::lock_guard lk(mu_);
  functions_.clear();
  spec_cache_.clear();
  for (auto& [key, value] : store_.scan(kPrefix)) {
    auto rec = parse_record(value);
    if (!rec) return fail(SysError{key + ": " + rec.error().message});
    functions_[key.substr(kPrefix.size())] = std::move(rec.value());
  }
  return {};
}

std::optional<FunctionRecord> FunctionRegistry::get(const std::string& name) const {
  std::lock_guard lk(mu_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> FunctionRegistry::names() const {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  for (const auto& [n, _] : functions_) out.push_back(n);
  return out;
}

int FunctionRegistry::reserved_total() const {
  std::lock_guard lk(mu_);
  int total = 0;
  for (const auto& [n, f] : functions_) total += f.reserved.value_or(0);
  return total;
}

Status FunctionRegistry::persist(const std::string& name, const FunctionRecord& rec) {
  return store_.put(std::string(kPrefix) + name, serialize_record(rec));
}

static aws::ApiError not_found(const std::string& name) {
  return aws::ApiError::resource_not_found("Function not found: " +
                                           function_arn("us-east-1", "000000000000", name));
}

Result<void, aws::ApiError> FunctionRegistry::create(const std::string& name,
                                                     FunctionRecord record) {
  std::lock_guard lk(mu_);
  if (functions_.count(name))
    return fail(aws::ApiError::resource_conflict("Function already exist: " + name));
  if (auto st = persist(name, record); !st)
    return fail(aws::ApiError::service_failure(st.error().message));
  functions_[name] = std::move(record);
  return {};
}

Result<void, aws::ApiError> FunctionRegistry::update(const std::string& name,
                                                     const Mutation& mutate) {
  std::lock_guard lk(mu_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return fail(not_found(name));
  FunctionRecord copy = it->second;
  if (auto r = mutate(copy); !r) return r;
  if (auto st = persist(name, copy); !st)
    return fail(aws::ApiError::service_failure(st.error().message));
  it->second = std::move(copy);
  std::erase_if(spec_cache_, [&](const auto& kv) { return kv.first.starts_with(name + ":"); });
  return {};
}

Result<void, aws::ApiError> FunctionRegistry::remove(const std::string& name) {
  std::lock_guard lk(mu_);
  if (!functions_.count(name)) return fail(not_found(name));
  if (auto st = store_.del(std::string(kPrefix) + name); !st)
    return fail(aws::ApiError::service_failure(st.error().message));
  functions_.erase(name);
  std::erase_if(spec_cache_, [&](const auto& kv) { return kv.first.starts_with(name + ":"); });
  return {};
}

Result<void, aws::ApiError> FunctionRegistry::set_reserved(const std::string& name,
                                                           std::optional<int> reserved,
                                                           int account_limit, int min_unreserved) {
  std::lock_guard lk(mu_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return fail(not_found(name));
  // Other functions take their reservation out of the account's pool, or
  // (without one) their provisioned concurrency.
  auto provisioned = [](const FunctionRecord& f) {
    int total = 0;
    for (const auto& [q, c] : f.provisioned) total += c.requested;
    return total;
  };
  int others = 0;
  for (const auto& [n, f] : functions_)
    if (n != name) others += f.reserved.value_or(provisioned(f));
  if (reserved && *reserved < provisioned(it->second))
    return fail(aws::ApiError::invalid_parameter(
        "Specified ReservedConcurrentExecutions for function is less than the function's "
        "provisioned concurrency [" +
        std::to_string(provisioned(it->second)) + "]."));
  if (reserved && account_limit - others - *reserved < min_unreserved)
    return fail(aws::ApiError::invalid_parameter(
        "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [" +
        std::to_string(min_unreserved) + "]."));
  FunctionRecord copy = it->second;
  copy.reserved = reserved;
  if (auto st = persist(name, copy); !st)
    return fail(aws::ApiError::service_failure(st.error().message));
  it->second = std::move(copy);
  return {};
}

void FunctionRegistry::clear() {
  std::lock_guard lk(mu_);
  functions_.clear();
  spec_cache_.clear();
}

std::shared_ptr<const faas::FunctionSpec> FunctionRegistry::make_spec(
    const VersionRecord& v) const {
  auto s = std::make_shared<faas::FunctionSpec>();
  const auto& c = v.config;
  s->name = str(c, "FunctionName");
  s->version = str(c, "Version", "$LATEST");
  std::string arn = str(c, "FunctionArn");
  // The unqualified ARN: a version's FunctionArn ends in ":N".
  if (s->version != "$LATEST") arn = arn.substr(0, arn.rfind(':'));
  s->arn = arn;
  s->runtime = str(c, "Runtime");
  s->handler = str(c, "Handler");
  s->code_dir = v.code.dir;
  s->opt_dir = v.opt_dir;
  s->memory_mb = static_cast<int>(num(c, "MemorySize", 128));
  s->timeout_seconds = static_cast<int>(num(c, "Timeout", 3));
  if (auto* e = c.if_contains("EphemeralStorage"); e && e->is_object())
    s->ephemeral_storage_mb = static_cast<int>(num(e->as_object(), "Size", 512));
  if (auto* e = c.if_contains("Environment"); e && e->is_object())
    if (auto* vars = e->as_object().if_contains("Variables"); vars && vars->is_object())
      for (const auto& [k, val] : vars->as_object())
        if (val.is_string()) s->environment[std::string(k)] = std::string(val.as_string());
  s->revision = str(c, "RevisionId");
  s->role = str(c, "Role");
  // Region and account from the ARN: arn:aws:lambda:REGION:ACCOUNT:function:NAME
  auto ref = parse_function_ref(arn);
  if (ref.ok()) {
    if (!ref->region.empty()) s->region = ref->region;
    if (!ref->account_id.empty()) s->account_id = ref->account_id;
  }
  return s;
}

Result<Target, aws::ApiError> FunctionRegistry::resolve(const std::string& name,
                                                        const std::string& qualifier,
                                                        double pick) const {
  std::lock_guard lk(mu_);
  auto it = functions_.find(name);
  if (it == functions_.end()) return fail(not_found(name));
  const FunctionRecord& f = it->second;
  std::string version = qualifier.empty() ? "$LATEST" : qualifier;
  std::string invoked_arn = str(f.latest.config, "FunctionArn");
  if (!qualifier.empty()) invoked_arn += ":" + qualifier;
  if (auto a = f.aliases.find(qualifier); a != f.aliases.end()) {
    version = str(a->second, "FunctionVersion");
    // RoutingConfig: send `weight` of the traffic to the additional version.
    if (auto* rc = a->second.if_contains("RoutingConfig"); rc && rc->is_object())
      if (auto* w = rc->as_object().if_contains("AdditionalVersionWeights"); w && w->is_object()) {
        double acc = 0;
        for (const auto& [v, weight] : w->as_object()) {
          acc += weight.to_number<double>();
          if (pick < acc) {
            version = std::string(v);
            break;
          }
        }
      }
  }
  const VersionRecord* rec = nullptr;
  if (version == "$LATEST") {
    rec = &f.latest;
  } else if (is_version_number(version)) {
    auto v = f.versions.find(std::stoi(version));
    if (v != f.versions.end()) rec = &v->second;
  }
  if (!rec)
    return fail(aws::ApiError::resource_not_found(
        "Function not found: " + str(f.latest.config, "FunctionArn") + ":" + qualifier));
  std::string cache_key = name + ":" + version;
  auto& cached = spec_cache_[cache_key];
  if (!cached) cached = make_spec(*rec);
  return Target{cached, f.reserved, invoked_arn};
}

}  // namespace nimbus::services::lambda
