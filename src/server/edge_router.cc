#include "server/edge_router.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "aws/sigv4.h"
#include "base/ids.h"

namespace nimbus::server {

namespace json = boost::json;

namespace {

// X-Amz-Target prefixes of the json-1.0/1.1 services, by signing name.
constexpr std::pair<std::string_view, std::string_view> kTargets[] = {
    {"Logs_20140328.", "logs"},
    {"DynamoDB_20120810.", "dynamodb"},
    {"DynamoDBStreams_20120810.", "dynamodb"},
    {"AmazonSQS.", "sqs"},
    {"AWSStepFunctions.", "states"},
    {"AWSEvents.", "events"},
    {"GraniteServiceVersion20100801.", "monitoring"},
    {"AnyScaleFrontendService.", "application-autoscaling"},
};

// Lambda's API versions appear as the first path segment.
constexpr std::string_view kLambdaPaths[] = {"/2015-03-31/", "/2017-10-31/", "/2019-09-30/",
                                             "/2016-08-19/", "/2017-03-31/", "/2018-10-31/",
                                             "/2020-06-30/", "/2021-10-31/", "/2014-11-13/"};

std::string form_action(const http::Request& req) {
  std::string_view src = req.query;
  if (req.method == "POST" &&
      req.headers.get_or("Content-Type").find("x-www-form-urlencoded") != std::string::npos)
    src = req.body;
  for (auto& [k, v] : http::parse_query(src))
    if (k == "Action") return v;
  return {};
}

}  // namespace

EdgeRouter::EdgeRouter(EdgeOptions options, aws::CredentialStore& credentials, Clock& clock)
    : options_(std::move(options)), credentials_(credentials), clock_(clock) {}

void EdgeRouter::add_service(aws::Service& service) {
  services_[std::string(service.signing_name())] = &service;
}

void EdgeRouter::add_admin_route(std::string prefix, AdminHandler handler) {
  admin_.emplace_back(std::move(prefix), std::move(handler));
}

void EdgeRouter::set_health_info(std::string key, std::string value) {
  health_info_[std::move(key)] = std::move(value);
}

std::string EdgeRouter::pick_service(
    const http::Request& req, const std::optional<aws::sigv4::CredentialScope>& scope) const {
  if (scope) return scope->service;
  if (auto target = req.headers.get("X-Amz-Target")) {
    for (auto [prefix, name] : kTargets)
      if (target->starts_with(prefix)) return std::string(name);
  }
  for (auto p : kLambdaPaths)
    if (req.path.starts_with(p)) return "lambda";
  std::string action = form_action(req);
  if (action == "GetCallerIdentity" || action == "AssumeRole" || action == "GetSessionToken" ||
      action == "GetAccessKeyInfo")
    return "sts";
  if (!action.empty()) return "iam";
  return {};
}

void EdgeRouter::handle(http::Request req, http::Reply reply) {
  if (req.path.starts_with("/_nimbus/")) {
    if (req.path == "/_nimbus/health" && req.method == "GET") return health(std::move(reply));
    if (req.path == "/_nimbus/reset" && req.method == "POST") return reset(req, std::move(reply));
    for (auto& [prefix, handler] : admin_)
      if (req.path.starts_with(prefix)) return handler(std::move(req), std::move(reply));
    return reply(http::Response::json(404, R"({"message":"Not Found"})"));
  }

  if (user_request_ && req.path.starts_with("/restapis/") &&
      req.path.find("/_user_request_") != std::string::npos && user_request_(req, reply))
    return;

  std::string request_id = new_uuid();
  // Parsed once: it names the service and, below, the caller's key and region.
  auto scope = aws::sigv4::credential_scope(req);
  std::string name = pick_service(req, scope);
  auto it = services_.find(name);
  if (it == services_.end()) {
    auto e =
        aws::ApiError::make(400, "UnknownServiceException",
                            name.empty() ? "Cannot tell which AWS service this request is for"
                                         : "Nimbus does not serve the '" + name + "' service yet");
    return reply(aws::render_error(aws::Protocol::kRestJson, e, request_id));
  }
  aws::Service& service = *it->second;

  aws::Call call;
  call.request_id = request_id;
  call.region = options_.region;
  if (scope) {
    call.access_key = scope->access_key;
    if (!scope->region.empty()) call.region = scope->region;
  }
  if (options_.require_auth) {
    auto who = aws::authenticate(req, credentials_, clock_.wall_ms(), service.protocol());
    if (!who)
      return reply(
          aws::render_error(service.protocol(), who.error(), request_id, service.json_namespace()));
    call.account_id = who->account_id;
    call.principal_arn = who->principal_arn;
  } else if (scope) {
    // Auth off (loopback default): any key is accepted; a known one still
    // carries its identity.
    if (auto who = credentials_.lookup(scope->access_key); who.ok()) {
      call.account_id = who->account_id;
      call.principal_arn = who->principal_arn;
    }
  }
  if (call.principal_arn.empty()) call.principal_arn = aws::root_arn(call.account_id);
  call.http = std::move(req);
  call.reply = std::move(reply);
  try {
    service.handle(std::move(call));
  } catch (const std::exception& e) {
    // handle() took the call; its reply is gone with it. Nothing more to do but
    // log: services catch their own failures and answer.
    spdlog::error("{}: unhandled failure: {}", name, e.what());
  }
}

void EdgeRouter::health(http::Reply reply) const {
  json::object services;
  for (auto& [name, svc] : services_) services[name] = svc->health();
  json::object body{{"status", "running"}, {"services", std::move(services)}};
  for (auto& [k, v] : health_info_) body[k] = v;
  reply(http::Response::json(200, json::serialize(body)));
}

void EdgeRouter::reset(const http::Request& req, http::Reply reply) {
  if (!req.remote_is_loopback && !options_.allow_remote_reset)
    return reply(http::Response::json(
        403,
        R"json({"message":"reset is allowed only from loopback (start nimbus with --allow-reset)"})json"));
  for (auto& [name, svc] : services_) svc->reset();
  spdlog::info("state reset by {}", req.remote_ip);
  reply(http::Response::json(200, R"({"reset":true})"));
}

}  // namespace nimbus::server
