// libFuzzer target: route tables built from arbitrary route keys, and
// arbitrary requests matched against them, never crash; nor do event building
// and result parsing for whatever matched. Every event is well-formed JSON
// (strictly so when the request is valid UTF-8).
// Input: lines; all but the last are route keys ("GET /a/{b}", "$default"),
// the last is "METHOD /raw/path?query" to match. The first byte picks the API kind.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>

#include "services/apigateway/proxy_event.h"
#include "services/apigateway/proxy_response.h"
#include "services/apigateway/routes.h"

namespace ag = nimbus::services::apigateway;
namespace json = boost::json;

namespace {

void check_json(const std::string& event, bool utf8) {
  json::parse_options lax;
  lax.allow_invalid_utf8 = !utf8;
  boost::system::error_code ec;
  (void)json::parse(event, ec, {}, lax);
  if (ec) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto kind = (data[0] & 1) ? ag::ApiKind::kHttp : ag::ApiKind::kRest;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string_view all = in;
  std::vector<std::string_view> lines;
  while (!in.empty()) {
    auto nl = in.find('\n');
    lines.push_back(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  }
  if (lines.empty()) return 0;
  ag::RouteTable table(kind);
  for (size_t i = 0; i + 1 < lines.size(); ++i)
    if (auto r = ag::parse_route_key(lines[i]); r.ok()) (void)table.add(std::move(r.value()));

  std::string_view req_line = lines.back();
  auto space = req_line.find(' ');
  nimbus::http::Request req;
  req.method = std::string(req_line.substr(0, space));
  std::string_view target = space == std::string_view::npos ? "" : req_line.substr(space + 1);
  auto q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  req.body = std::string(req_line);
  req.headers.add("Cookie", std::string(target));
  req.headers.add("Content-Type", std::string(req.method));

  ag::Router router;
  (void)router.add_api("api", table);
  auto m = router.match(req.method, req.path);
  if (!m) return 0;
  ag::EventContext ctx;
  ctx.stage = "Prod";
  ctx.stage_variables = {{"v", std::string(target)}};
  // Percent-decoding may turn UTF-8 input into bytes that are not.
  bool utf8 = ag::is_valid_utf8(all);
  for (const auto& [k, v] : m->path_params)
    utf8 = utf8 && ag::is_valid_utf8(k) && ag::is_valid_utf8(v);
  for (const auto& [k, v] : nimbus::http::parse_query(req.query))
    utf8 = utf8 && ag::is_valid_utf8(k) && ag::is_valid_utf8(v);
  check_json(ag::build_event_v1(req, *m, ctx, kind), utf8);
  check_json(ag::build_event_v2(req, *m, ctx), utf8);
  (void)ag::parse_result_v1(req_line);
  (void)ag::parse_result_v2(req_line);
  return 0;
}
