#include "services/apigateway/authorizer.h"

#include <boost/json.hpp>

#include "base/text.h"

namespace nimbus::services::apigateway {

namespace json = boost::json;

Result<std::vector<std::string>, std::string> parse_identity_sources(
    const std::vector<std::string>& sources) {
  std::vector<std::string> out;
  for (auto& whole : sources) {
    std::string_view rest = whole;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view s = trim_ows(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (s.empty()) continue;
      auto take = [&](std::string_view prefix, std::string_view kind, bool lower_name) -> bool {
        if (!s.starts_with(prefix) || s.size() == prefix.size()) return false;
        std::string_view name = s.substr(prefix.size());
        out.push_back(std::string(kind) + ":" +
                      (lower_name ? ascii_lower(name) : std::string(name)));
        return true;
      };
      if (take("method.request.header.", "header", true) ||
          take("$request.header.", "header", true) ||
          take("method.request.querystring.", "query", false) ||
          take("$request.querystring.", "query", false) ||
          take("stageVariables.", "stage", false) || take("$stageVariables.", "stage", false))
        continue;
      return fail("identity source '" + std::string(s) + "' is not supported");
    }
  }
  return out;
}

std::optional<std::vector<std::string>> identity_values(
    const AuthorizerSpec& spec, const http::Request& req,
    const std::vector<std::pair<std::string, std::string>>& stage_variables) {
  std::vector<std::string> values;
  for (auto& src : spec.identity_sources) {
    auto colon = src.find(':');
    std::string_view kind = std::string_view(src).substr(0, colon);
    std::string_view name = std::string_view(src).substr(colon + 1);
    std::string v;
    if (kind == "header") {
      v = req.headers.get_or(name);
    } else if (kind == "query") {
      v = http::query_value(req.query, name);
    } else {
      for (auto& [k, val] : stage_variables)
        if (k == name) v = val;
    }
    if (v.empty()) return std::nullopt;
    values.push_back(std::move(v));
  }
  return values;
}

Result<AuthPolicy, std::string> parse_authorizer_result(std::string_view payload,
                                                        bool simple_responses) {
  boost::system::error_code ec;
  auto v = json::parse(payload, ec);
  if (ec || !v.is_object())
    return fail(std::string("the authorizer's result is not a JSON object"));
  auto& o = v.as_object();
  AuthPolicy p;
  if (auto* c = o.if_contains("context")) {
    if (!c->is_object() && !c->is_null()) return fail(std::string("context must be an object"));
    if (c->is_object()) p.context = c->as_object();
  }
  if (simple_responses) {
    auto* a = o.if_contains("isAuthorized");
    if (!a || !a->is_bool()) return fail(std::string("isAuthorized must be a boolean"));
    p.simple = true;
    p.authorized = a->as_bool();
    return p;
  }
  if (auto* pid = o.if_contains("principalId"); pid && pid->is_string())
    p.principal_id = std::string(pid->as_string());
  auto* doc = o.if_contains("policyDocument");
  if (!doc || !doc->is_object()) return fail(std::string("policyDocument is missing"));
  auto* st = doc->as_object().if_contains("Statement");
  if (!st) return fail(std::string("policyDocument.Statement is missing"));
  json::array statements;
  if (st->is_array())
    statements = st->as_array();
  else if (st->is_object())
    statements.push_back(*st);
  else
    return fail(std::string("policyDocument.Statement must be a list"));
  for (auto& sv : statements) {
    if (!sv.is_object()) return fail(std::string("a policy statement must be an object"));
    auto& so = sv.as_object();
    AuthPolicy::Statement s;
    auto* effect = so.if_contains("Effect");
    if (!effect || !effect->is_string()) return fail(std::string("a statement has no Effect"));
    s.allow = effect->as_string() == "Allow";
    if (!s.allow && effect->as_string() != "Deny")
      return fail(std::string("Effect must be Allow or Deny"));
    // Only statements about execute-api:Invoke count.
    bool invoke = false;
    auto check_action = [&](const json::value& a) {
      if (!a.is_string()) return;
      auto sv2 = a.as_string();
      if (sv2 == "execute-api:Invoke" || sv2 == "execute-api:*" || sv2 == "*") invoke = true;
    };
    if (auto* a = so.if_contains("Action")) {
      if (a->is_array())
        for (auto& e : a->as_array()) check_action(e);
      else
        check_action(*a);
    }
    if (!invoke) continue;
    if (auto* r = so.if_contains("Resource")) {
      if (r->is_string()) s.resources.emplace_back(r->as_string());
      if (r->is_array())
        for (auto& e : r->as_array())
          if (e.is_string()) s.resources.emplace_back(e.as_string());
    }
    p.statements.push_back(std::move(s));
  }
  return p;
}

bool arn_matches(std::string_view pattern, std::string_view arn) {
  // Iterative glob with backtracking on the last `*`.
  size_t p = 0, a = 0, star = std::string_view::npos, mark = 0;
  while (a < arn.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == arn[a])) {
      ++p;
      ++a;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = a;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      a = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

AuthDecision evaluate(const AuthPolicy& policy, std::string_view method_arn) {
  if (policy.simple) return policy.authorized ? AuthDecision::kAllow : AuthDecision::kNotAllowed;
  bool allowed = false;
  for (auto& s : policy.statements)
    for (auto& r : s.resources)
      if (arn_matches(r, method_arn)) {
        if (!s.allow) return AuthDecision::kExplicitDeny;
        allowed = true;
      }
  return allowed ? AuthDecision::kAllow : AuthDecision::kNotAllowed;
}

std::string method_arn(std::string_view region, std::string_view account, std::string_view api,
                       std::string_view stage, std::string_view method, std::string_view path) {
  std::string arn = "arn:aws:execute-api:";
  arn += region;
  arn += ":";
  arn += account;
  arn += ":";
  arn += api;
  arn += "/";
  arn += stage;
  arn += "/";
  arn += method;
  arn += "/";
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  arn += path;
  return arn;
}

std::optional<AuthPolicy> AuthorizerCache::get(const std::string& key, TimePoint now) {
  std::lock_guard lk(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.policy;
}

void AuthorizerCache::put(const std::string& key, AuthPolicy policy, TimePoint expires) {
  std::lock_guard lk(mu_);
  if (entries_.size() >= max_) entries_.clear();
  entries_[key] = Entry{std::move(policy), expires};
}

void AuthorizerCache::clear() {
  std::lock_guard lk(mu_);
  entries_.clear();
}

}  // namespace nimbus::services::apigateway
