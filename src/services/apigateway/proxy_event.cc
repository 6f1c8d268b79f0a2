#include "services/apigateway/proxy_event.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "base/ids.h"
#include "base/text.h"

namespace nimbus::services::apigateway {

namespace json = boost::json;

namespace {

// "type/subtype" in lower case, without parameters.
std::string media_type(std::string_view content_type) {
  return ascii_lower(trim_ows(content_type.substr(0, content_type.find(';'))));
}

// Name/values groups in first-seen order; names compared case-insensitively
// (headers) or exactly (query strings).
struct Group {
  std::string name;
  std::vector<std::string> values;
};

template <class Pairs>
std::vector<Group> group(const Pairs& pairs, bool case_insensitive) {
  std::vector<Group> out;
  for (const auto& kv : pairs) {
    std::string_view k = kv.first;
    auto it = std::find_if(out.begin(), out.end(), [&](const Group& g) {
      return case_insensitive ? http::iequals(g.name, k) : g.name == k;
    });
    if (it == out.end()) {
      out.push_back({std::string(k), {}});
      it = std::prev(out.end());
    }
    it->values.emplace_back(kv.second);
  }
  return out;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

// 1.0 carries each name twice: the last value alone and every value in order.
void put_single_and_multi(json::object& ev, std::string_view single, std::string_view multi,
                          const std::vector<Group>& groups) {
  if (groups.empty()) {
    ev[single] = nullptr;
    ev[multi] = nullptr;
    return;
  }
  json::object one(ev.storage()), many(ev.storage());
  for (const auto& g : groups) {
    one[g.name] = g.values.back();
    json::array vals(ev.storage());
    for (const auto& v : g.values) vals.emplace_back(v);
    many[g.name] = std::move(vals);
  }
  ev[single] = std::move(one);
  ev[multi] = std::move(many);
}

json::value string_map_or_null(const std::vector<std::pair<std::string, std::string>>& kv,
                               const json::storage_ptr& sp) {
  if (kv.empty()) return nullptr;
  json::object o(sp);
  for (const auto& [k, v] : kv) o[k] = v;
  return o;
}

std::string domain_name(const http::Request& req, const EventContext& ctx) {
  if (!ctx.domain_name.empty()) return ctx.domain_name;
  std::string_view host = trim_ows(req.headers.get("Host").value_or("localhost"));
  // The Host header may carry a port; domainName never does.
  if (host.starts_with('[')) return std::string(host.substr(0, host.find(']') + 1));
  return std::string(host.substr(0, host.find(':')));
}

std::string domain_prefix(std::string_view domain) {
  return std::string(domain.substr(0, domain.find('.')));
}

json::value header_or_null(const http::Request& req, std::string_view name,
                           const json::storage_ptr& sp) {
  auto v = req.headers.get(name);
  if (!v) return nullptr;
  return json::string(*v, sp);
}

// Body and isBase64Encoded, shared by both formats. Returns false when empty.
bool put_body(json::object& ev, ApiKind kind, const http::Request& req, const EventContext& ctx) {
  if (req.body.empty()) return false;
  bool binary =
      is_binary_body(kind, req.headers.get_or("Content-Type"), req.body, ctx.binary_media_types);
  ev["body"] = binary ? base64_encode(req.body) : req.body;
  return binary;
}

json::object identity_v1(const http::Request& req, const EventContext& ctx,
                         const json::storage_ptr& sp) {
  json::object id(sp);
  for (const char* k : {"accessKey", "accountId", "caller", "cognitoAuthenticationProvider",
                        "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId",
                        "principalOrgId"})
    id[k] = nullptr;
  id["sourceIp"] = ctx.source_ip;
  id["user"] = nullptr;
  id["userAgent"] = header_or_null(req, "User-Agent", sp);
  id["userArn"] = nullptr;
  return id;
}

// The path the client used, stage included (REST requestContext.path, the
// 2.0 rawPath on a named stage).
std::string path_with_stage(const http::Request& req, const EventContext& ctx) {
  std::string path = req.path.empty() ? "/" : req.path;
  if (ctx.stage.empty() || ctx.stage == "$default") return path;
  return "/" + ctx.stage + path;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are invalid.
    static constexpr std::array<uint32_t, 5> kMin = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
    i += len;
  }
  return true;
}

std::string clf_time(int64_t epoch_ms) {
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // Years 0000..9999 only, which also keeps the arithmetic below from overflowing.
  epoch_ms = std::clamp<int64_t>(epoch_ms, -62167219200000, 253402300799999);
  int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t sod = secs - days * 86400;
  // Civil date from days since 1970-01-01 (proleptic Gregorian, 400-year eras).
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02d/%s/%04lld:%02d:%02d:%02d +0000", static_cast<int>(day),
                kMonths[month - 1], static_cast<long long>(year), static_cast<int>(sod / 3600),
                static_cast<int>(sod / 60 % 60), static_cast<int>(sod % 60));
  return buf;
}

bool media_type_matches(std::string_view content_type, std::span<const std::string> patterns) {
  std::string type = media_type(content_type);
  if (type.empty()) return false;
  std::string_view major = std::string_view(type).substr(0, type.find('/'));
  for (const auto& p : patterns) {
    std::string pat = media_type(p);
    if (pat == "*/*" || pat == type) return true;
    if (pat.ends_with("/*") && std::string_view(pat).substr(0, pat.size() - 2) == major)
      return true;
  }
  return false;
}

bool is_binary_body(ApiKind kind, std::string_view content_type, std::string_view body,
                    std::span<const std::string> binary_media_types) {
  if (body.empty()) return false;
  if (!is_valid_utf8(body)) return true;
  if (kind == ApiKind::kRest) return media_type_matches(content_type, binary_media_types);
  std::string type = media_type(content_type);
  bool text = type.starts_with("text/") || type == "application/json" ||
              type == "application/xml" || type == "application/javascript";
  return !text;
}

std::string rest_resource_id(std::string_view api_id, std::string_view resource_path) {
  return sha256_hex(std::string(api_id) + std::string(resource_path)).substr(0, 10);
}

json::object build_event_v1(const http::Request& req, const RouteMatch& match,
                            const EventContext& ctx, ApiKind kind, json::storage_ptr sp) {
  const Route& route = match.route;
  json::object ev(16, sp);
  if (kind == ApiKind::kHttp) ev["version"] = "1.0";
  ev["resource"] = route.path;
  ev["path"] = req.path.empty() ? "/" : req.path;
  ev["httpMethod"] = req.method;
  put_single_and_multi(ev, "headers", "multiValueHeaders",
                       group(req.headers.all(), /*case_insensitive=*/true));
  put_single_and_multi(ev, "queryStringParameters", "multiValueQueryStringParameters",
                       group(http::parse_query(req.query), /*case_insensitive=*/false));
  ev["pathParameters"] = string_map_or_null(match.path_params, sp);
  ev["stageVariables"] = string_map_or_null(ctx.stage_variables, sp);

  std::string domain = domain_name(req, ctx);
  json::object rc(18, sp);
  rc["accountId"] = ctx.account_id;
  rc["apiId"] = ctx.api_id;
  if (ctx.authorizer) rc["authorizer"] = *ctx.authorizer;
  rc["domainName"] = domain;
  rc["domainPrefix"] = domain_prefix(domain);
  rc["extendedRequestId"] =
      ctx.extended_request_id.empty() ? ctx.request_id : ctx.extended_request_id;
  rc["httpMethod"] = req.method;
  rc["identity"] = identity_v1(req, ctx, sp);
  rc["path"] = path_with_stage(req, ctx);
  rc["protocol"] = ctx.protocol;
  rc["requestId"] = ctx.request_id;
  rc["requestTime"] = clf_time(ctx.epoch_ms);
  rc["requestTimeEpoch"] = ctx.epoch_ms;
  if (kind == ApiKind::kRest)
    rc["resourceId"] =
        ctx.resource_id.empty() ? rest_resource_id(ctx.api_id, route.path) : ctx.resource_id;
  else
    rc["resourceId"] = nullptr;
  rc["resourcePath"] = route.path;
  rc["stage"] = ctx.stage;
  ev["requestContext"] = std::move(rc);

  ev["body"] = nullptr;
  ev["isBase64Encoded"] = put_body(ev, kind, req, ctx);
  return ev;
}

json::object build_event_v2(const http::Request& req, const RouteMatch& match,
                            const EventContext& ctx, json::storage_ptr sp) {
  json::object ev(14, sp);
  ev["version"] = "2.0";
  ev["routeKey"] = match.route.key();
  std::string raw_path = path_with_stage(req, ctx);
  ev["rawPath"] = raw_path;
  ev["rawQueryString"] = req.query;

  // Cookies travel in their own array, one element per cookie, and not as a
  // header.
  json::array cookies(sp);
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : req.headers.all()) {
    if (!http::iequals(name, "Cookie")) {
      headers.emplace_back(ascii_lower(name), value);
      continue;
    }
    std::string_view rest = value;
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto c = trim_ows(rest.substr(0, semi));
      if (!c.empty()) cookies.emplace_back(c);
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    }
  }
  if (!cookies.empty()) ev["cookies"] = std::move(cookies);
  json::object hdrs(sp);
  for (const auto& g : group(headers, /*case_insensitive=*/false))
    hdrs[g.name] = join(g.values, ",");
  ev["headers"] = std::move(hdrs);
  auto query = group(http::parse_query(req.query), /*case_insensitive=*/false);
  if (!query.empty()) {
    json::object q(sp);
    for (const auto& g : query) q[g.name] = join(g.values, ",");
    ev["queryStringParameters"] = std::move(q);
  }

  std::string domain = domain_name(req, ctx);
  json::object rc(12, sp);
  rc["accountId"] = ctx.account_id;
  rc["apiId"] = ctx.api_id;
  if (ctx.authorizer) rc["authorizer"] = *ctx.authorizer;
  rc["domainName"] = domain;
  rc["domainPrefix"] = domain_prefix(domain);
  json::object http_obj(sp);
  http_obj["method"] = req.method;
  http_obj["path"] = raw_path;
  http_obj["protocol"] = ctx.protocol;
  http_obj["sourceIp"] = ctx.source_ip;
  http_obj["userAgent"] = req.headers.get_or("User-Agent");
  rc["http"] = std::move(http_obj);
  rc["requestId"] = ctx.request_id;
  rc["routeKey"] = match.route.key();
  rc["stage"] = ctx.stage;
  rc["time"] = clf_time(ctx.epoch_ms);
  rc["timeEpoch"] = ctx.epoch_ms;
  ev["requestContext"] = std::move(rc);

  bool b64 = put_body(ev, ApiKind::kHttp, req, ctx);
  if (!match.path_params.empty()) ev["pathParameters"] = string_map_or_null(match.path_params, sp);
  ev["isBase64Encoded"] = b64;
  if (!ctx.stage_variables.empty())
    ev["stageVariables"] = string_map_or_null(ctx.stage_variables, sp);
  return ev;
}

}  // namespace nimbus::services::apigateway
