#include "services/apigateway/proxy_event.h"

#include <algorithm>
#include <array>

#include <boost/json/serialize.hpp>

#include "base/ids.h"
#include "base/json_writer.h"
#include "base/text.h"

namespace nimbus::services::apigateway {

namespace json = boost::json;

namespace {

// "type/subtype" in lower case, without parameters.
std::string media_type(std::string_view content_type) {
  return ascii_lower(trim_ows(content_type.substr(0, content_type.find(';'))));
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Names are compared case-insensitively (headers) or exactly (query strings,
// path parameters, stage variables).
bool same_name(std::string_view a, std::string_view b, bool case_insensitive) {
  return case_insensitive ? http::iequals(a, b) : a == b;
}

// Calls fn(i) for the first pair of each name, in first-seen order: events
// carry each name once. Quadratic, but the lists are short and nothing is
// allocated.
template <class Fn>
void for_each_name(const Pairs& pairs, bool case_insensitive, Fn fn) {
  for (size_t i = 0; i < pairs.size(); ++i) {
    bool seen = false;
    for (size_t j = 0; j < i && !seen; ++j)
      seen = same_name(pairs[j].first, pairs[i].first, case_insensitive);
    if (!seen) fn(i);
  }
}

// {name: last value} for every name, or null without any.
void write_last_values(JsonWriter& w, const Pairs& pairs, bool case_insensitive) {
  if (pairs.empty()) return w.null();
  w.begin_object();
  for_each_name(pairs, case_insensitive, [&](size_t i) {
    size_t last = pairs.size() - 1;
    while (last > i && !same_name(pairs[last].first, pairs[i].first, case_insensitive)) --last;
    w.member(pairs[i].first, pairs[last].second);
  });
  w.end_object();
}

// {name: [every value in order]}, or null without any.
void write_all_values(JsonWriter& w, const Pairs& pairs, bool case_insensitive) {
  if (pairs.empty()) return w.null();
  w.begin_object();
  for_each_name(pairs, case_insensitive, [&](size_t i) {
    w.key(pairs[i].first);
    w.begin_array();
    w.string(pairs[i].second);
    for (size_t j = i + 1; j < pairs.size(); ++j)
      if (same_name(pairs[j].first, pairs[i].first, case_insensitive)) w.string(pairs[j].second);
    w.end_array();
  });
  w.end_object();
}

// 2.0: a name's values joined by commas in one string.
void write_joined(JsonWriter& w, const Pairs& pairs, size_t first, bool case_insensitive) {
  w.begin_string();
  w.string_part(pairs[first].second);
  for (size_t j = first + 1; j < pairs.size(); ++j) {
    if (!same_name(pairs[j].first, pairs[first].first, case_insensitive)) continue;
    w.string_part(",");
    w.string_part(pairs[j].second);
  }
  w.end_string();
}

// A member name in ASCII lower case (2.0 header names).
void write_lower_key(JsonWriter& w, std::string_view name) {
  w.begin_string();
  char buf[64];
  while (!name.empty()) {
    size_t n = std::min(name.size(), sizeof buf);
    for (size_t k = 0; k < n; ++k) buf[k] = ascii_lower(name[k]);
    w.string_part(std::string_view(buf, n));
    name.remove_prefix(n);
  }
  w.end_key();
}

std::string_view domain_name(const http::Request& req, const EventContext& ctx) {
  if (!ctx.domain_name.empty()) return ctx.domain_name;
  std::string_view host = trim_ows(req.headers.get("Host").value_or("localhost"));
  // The Host header may carry a port; domainName never does.
  if (host.starts_with('[')) return host.substr(0, host.find(']') + 1);
  return host.substr(0, host.find(':'));
}

// The members both formats' requestContext starts with.
void write_context_head(JsonWriter& w, const http::Request& req, const EventContext& ctx) {
  w.member("accountId", ctx.account_id);
  w.member("apiId", ctx.api_id);
  if (ctx.authorizer) {
    w.key("authorizer");
    w.raw(json::serialize(*ctx.authorizer));
  }
  std::string_view domain = domain_name(req, ctx);
  w.member("domainName", domain);
  w.member("domainPrefix", domain.substr(0, domain.find('.')));
}

void write_string_or_null(JsonWriter& w, std::optional<std::string_view> s) {
  if (s)
    w.string(*s);
  else
    w.null();
}

// The body (base64 when binary); returns isBase64Encoded.
bool write_body(JsonWriter& w, ApiKind kind, const http::Request& req, const EventContext& ctx) {
  bool binary = is_binary_body(kind, req.headers.get("Content-Type").value_or(""), req.body,
                               ctx.binary_media_types);
  if (binary)
    w.string(base64_encode(req.body));
  else
    w.string(req.body);
  return binary;
}

void write_identity_v1(JsonWriter& w, const http::Request& req, const EventContext& ctx) {
  w.begin_object();
  for (const char* k : {"accessKey", "accountId", "caller", "cognitoAuthenticationProvider",
                        "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId",
                        "principalOrgId"}) {
    w.key(k);
    w.null();
  }
  w.member("sourceIp", ctx.source_ip);
  w.key("user");
  w.null();
  w.key("userAgent");
  write_string_or_null(w, req.headers.get("User-Agent"));
  w.key("userArn");
  w.null();
  w.end_object();
}

// The path the client used, stage included (REST requestContext.path, the
// 2.0 rawPath on a named stage).
void write_path_with_stage(JsonWriter& w, const http::Request& req, const EventContext& ctx) {
  w.begin_string();
  if (!ctx.stage.empty() && ctx.stage != "$default") {
    w.string_part("/");
    w.string_part(ctx.stage);
  }
  w.string_part(req.path.empty() ? "/" : req.path);
  w.end_string();
}

void write_route_key(JsonWriter& w, const Route& route) {
  w.begin_string();
  if (route.is_default()) {
    w.string_part("$default");
  } else {
    w.string_part(route.method);
    w.string_part(" ");
    w.string_part(route.path);
  }
  w.end_string();
}

// "09/Apr/2015:12:34:56 +0000" (always this long) into `out`.
constexpr size_t kClfTimeSize = 26;
void format_clf_time(int64_t epoch_ms, std::span<char, kClfTimeSize> out) {
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
  // "dd/Mon/yyyy:hh:mm:ss +0000", every field fixed-width.
  char* p = out.data();
  auto digits = [&p](int64_t v, int width) {
    for (int k = width - 1; k >= 0; --k, v /= 10) p[k] = static_cast<char>('0' + v % 10);
    p += width;
  };
  auto put = [&p](std::string_view s) { p = std::copy(s.begin(), s.end(), p); };
  digits(day, 2);
  put("/");
  put(kMonths[month - 1]);
  put("/");
  digits(year, 4);
  put(":");
  digits(sod / 3600, 2);
  put(":");
  digits(sod / 60 % 60, 2);
  put(":");
  digits(sod % 60, 2);
  put(" +0000");
}

void write_time(JsonWriter& w, int64_t epoch_ms) {
  std::array<char, kClfTimeSize> t;
  format_clf_time(epoch_ms, t);
  w.string(std::string_view(t.data(), t.size()));
}

// Room for the whole event in one allocation: the fixed members, every header
// twice (1.0), the query and the body (base64 grows it by a third).
size_t size_hint(const http::Request& req) {
  size_t n = 1024 + 2 * req.query.size() + req.body.size() / 3 * 4 + 4 + 3 * req.path.size();
  for (const auto& [k, v] : req.headers.all()) n += 2 * (k.size() + v.size()) + 16;
  return n;
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
  std::array<char, kClfTimeSize> t;
  format_clf_time(epoch_ms, t);
  return std::string(t.data(), t.size());
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

std::string build_event_v1(const http::Request& req, const RouteMatch& match,
                           const EventContext& ctx, ApiKind kind) {
  const Route& route = match.route;
  JsonWriter w(size_hint(req));
  w.begin_object();
  if (kind == ApiKind::kHttp) {
    w.member("version", "1.0");
  }
  w.member("resource", route.path);
  w.member("path", req.path.empty() ? "/" : req.path);
  w.member("httpMethod", req.method);
  // 1.0 carries each name twice: the last value alone and every value in order.
  w.key("headers");
  write_last_values(w, req.headers.all(), /*case_insensitive=*/true);
  w.key("multiValueHeaders");
  write_all_values(w, req.headers.all(), /*case_insensitive=*/true);
  Pairs query = http::parse_query(req.query);
  w.key("queryStringParameters");
  write_last_values(w, query, /*case_insensitive=*/false);
  w.key("multiValueQueryStringParameters");
  write_all_values(w, query, /*case_insensitive=*/false);
  w.key("pathParameters");
  write_last_values(w, match.path_params, /*case_insensitive=*/false);
  w.key("stageVariables");
  write_last_values(w, ctx.stage_variables, /*case_insensitive=*/false);

  w.key("requestContext");
  w.begin_object();
  write_context_head(w, req, ctx);
  w.member("extendedRequestId",
           ctx.extended_request_id.empty() ? ctx.request_id : ctx.extended_request_id);
  w.member("httpMethod", req.method);
  w.key("identity");
  write_identity_v1(w, req, ctx);
  w.key("path");
  write_path_with_stage(w, req, ctx);
  w.member("protocol", ctx.protocol);
  w.member("requestId", ctx.request_id);
  w.key("requestTime");
  write_time(w, ctx.epoch_ms);
  w.key("requestTimeEpoch");
  w.number(ctx.epoch_ms);
  w.key("resourceId");
  if (kind != ApiKind::kRest)
    w.null();
  else if (ctx.resource_id.empty())
    w.string(rest_resource_id(ctx.api_id, route.path));
  else
    w.string(ctx.resource_id);
  w.member("resourcePath", route.path);
  w.member("stage", ctx.stage);
  w.end_object();

  w.key("body");
  bool b64 = false;
  if (req.body.empty())
    w.null();
  else
    b64 = write_body(w, kind, req, ctx);
  w.key("isBase64Encoded");
  w.boolean(b64);
  w.end_object();
  return w.take();
}

std::string build_event_v2(const http::Request& req, const RouteMatch& match,
                           const EventContext& ctx) {
  const Pairs& headers = req.headers.all();
  JsonWriter w(size_hint(req));
  w.begin_object();
  w.member("version", "2.0");
  w.key("routeKey");
  write_route_key(w, match.route);
  w.key("rawPath");
  write_path_with_stage(w, req, ctx);
  w.member("rawQueryString", req.query);

  // Cookies travel in their own array, one element per cookie, and not as a
  // header.
  bool any_cookie = false;
  for (const auto& [name, value] : headers) {
    if (!http::iequals(name, "Cookie")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto c = trim_ows(rest.substr(0, semi));
      if (!c.empty()) {
        if (!any_cookie) {
          w.key("cookies");
          w.begin_array();
          any_cookie = true;
        }
        w.string(c);
      }
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    }
  }
  if (any_cookie) w.end_array();
  // Lower-case names, repeats joined by commas.
  w.key("headers");
  w.begin_object();
  for_each_name(headers, /*case_insensitive=*/true, [&](size_t i) {
    if (http::iequals(headers[i].first, "Cookie")) return;
    write_lower_key(w, headers[i].first);
    write_joined(w, headers, i, /*case_insensitive=*/true);
  });
  w.end_object();
  Pairs query = http::parse_query(req.query);
  if (!query.empty()) {
    w.key("queryStringParameters");
    w.begin_object();
    for_each_name(query, /*case_insensitive=*/false, [&](size_t i) {
      w.key(query[i].first);
      write_joined(w, query, i, /*case_insensitive=*/false);
    });
    w.end_object();
  }

  w.key("requestContext");
  w.begin_object();
  write_context_head(w, req, ctx);
  w.key("http");
  w.begin_object();
  w.member("method", req.method);
  w.key("path");
  write_path_with_stage(w, req, ctx);
  w.member("protocol", ctx.protocol);
  w.member("sourceIp", ctx.source_ip);
  w.member("userAgent", req.headers.get("User-Agent").value_or(""));
  w.end_object();
  w.member("requestId", ctx.request_id);
  w.key("routeKey");
  write_route_key(w, match.route);
  w.member("stage", ctx.stage);
  w.key("time");
  write_time(w, ctx.epoch_ms);
  w.key("timeEpoch");
  w.number(ctx.epoch_ms);
  w.end_object();

  bool b64 = false;
  if (!req.body.empty()) {
    w.key("body");
    b64 = write_body(w, ApiKind::kHttp, req, ctx);
  }
  if (!match.path_params.empty()) {
    w.key("pathParameters");
    write_last_values(w, match.path_params, /*case_insensitive=*/false);
  }
  w.key("isBase64Encoded");
  w.boolean(b64);
  if (!ctx.stage_variables.empty()) {
    w.key("stageVariables");
    write_last_values(w, ctx.stage_variables, /*case_insensitive=*/false);
  }
  w.end_object();
  return w.take();
}

}  // namespace nimbus::services::apigateway
