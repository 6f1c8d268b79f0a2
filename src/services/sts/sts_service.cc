#include "services/sts/sts_service.h"

#include <boost/json.hpp>
#include <exception>

namespace nimbus::services::sts {
namespace {

using aws::ApiError;
using aws::query::Params;
using aws::query::Validation;
using aws::query::XmlWriter;
using Reply = Result<http::Response, ApiError>;

constexpr std::string_view kNamePattern = "[\\w+=,.@-]*";

void write_credentials(XmlWriter& w, const aws::Identity& id) {
  w.open("Credentials")
      .element("AccessKeyId", id.access_key)
      .element("SecretAccessKey", id.secret_key)
      .element("SessionToken", id.session_token)
      .element("Expiration", aws::query::iso8601(id.expiration_ms))
      .close("Credentials");
}

bool is_valid_json(std::string_view text) {
  boost::system::error_code ec;
  boost::json::parse(text, ec);
  return !ec;
}

ApiError store_failure(const SysError& e) {
  return ApiError::internal("Could not persist the session: " + e.message);
}

}  // namespace

std::optional<RoleArn> parse_role_arn(std::string_view arn) {
  // arn:PARTITION:iam::ACCOUNT:role/[path/]NAME
  if (arn.substr(0, 4) != "arn:") return std::nullopt;
  auto rest = arn.substr(4);
  auto colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  rest.remove_prefix(colon + 1);
  if (rest.substr(0, 5) != "iam::") return std::nullopt;
  rest.remove_prefix(5);
  colon = rest.find(':');
  if (colon != 12) return std::nullopt;
  auto account = rest.substr(0, 12);
  if (account.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  rest.remove_prefix(13);
  if (rest.substr(0, 5) != "role/") return std::nullopt;
  auto name = rest.substr(rest.rfind('/') + 1);
  if (name.empty() || !aws::query::is_name_chars(name)) return std::nullopt;
  return RoleArn{std::string(account), std::string(name)};
}

StsService::StsService(aws::CredentialStore& credentials, const Clock& clock)
    : credentials_(credentials), clock_(clock) {}

void StsService::set_role_resolver(RoleResolver resolver) {
  role_resolver_ = std::move(resolver);
}

void StsService::handle(aws::Call call) {
  Reply result = fail(ApiError::internal("unhandled"));
  try {
    auto params = Params::parse(call.http);
    auto action = params.action();
    if (action == "GetCallerIdentity")
      result = get_caller_identity(call);
    else if (action == "AssumeRole")
      result = assume_role(call, params);
    else if (action == "GetSessionToken")
      result = get_session_token(call, params);
    else if (action == "GetAccessKeyInfo")
      result = get_access_key_info(call, params);
    else if (action.empty())
      result = fail(ApiError::make(400, "MissingAction", "Missing Action"));
    else
      result = fail(ApiError::make(400, "InvalidAction",
                                   "Could not find operation " + std::string(action) +
                                       " for version " + std::string(kVersion)));
  } catch (const std::exception& e) {
    result = fail(ApiError::internal(e.what()));
  }
  if (result.ok())
    call.reply(std::move(result.value()));
  else
    call.reply(
        aws::query::error_response(result.error(), call.request_id, aws::query::kStsNamespace));
}

void StsService::reset() {
  (void)credentials_.clear_sessions();
}

aws::Identity StsService::caller(const aws::Call& call) const {
  if (!call.access_key.empty())
    if (auto id = credentials_.lookup(call.access_key); id.ok()) return std::move(id.value());
  aws::Identity id;
  id.access_key = call.access_key;
  id.account_id = call.account_id;
  if (call.principal_arn.empty() || call.principal_arn == aws::root_arn(call.account_id)) {
    id.principal_arn = aws::root_arn(call.account_id);
    id.user_id = call.account_id;
  } else {
    id.principal_arn = call.principal_arn;
    id.user_id = aws::stable_id("AIDA", call.principal_arn);
  }
  return id;
}

Reply StsService::get_caller_identity(const aws::Call& call) {
  auto id = caller(call);
  XmlWriter w;
  w.element("Arn", id.principal_arn)
      .element("UserId", id.user_id)
      .element("Account", id.account_id);
  return aws::query::response("GetCallerIdentity", aws::query::kStsNamespace, w.str(),
                              call.request_id);
}

Reply StsService::assume_role(const aws::Call& call, const Params& params) {
  Validation v;
  int64_t duration = 3600;
  v.require(params, "RoleArn");
  v.require(params, "RoleSessionName");
  v.length(params, "RoleArn", 20, 2048);
  v.length(params, "RoleSessionName", 2, 64);
  v.name_pattern(params, "RoleSessionName", kNamePattern);
  v.integer(params, "DurationSeconds", 900, 43200, &duration);
  v.length(params, "ExternalId", 2, 1224);
  v.length(params, "SourceIdentity", 2, 64);
  v.name_pattern(params, "SourceIdentity", kNamePattern);
  v.length(params, "Policy", 1, 2048);
  if (!v.ok()) return fail(v.error());

  std::string role_arn(params.get_or_empty("RoleArn"));
  auto role = parse_role_arn(role_arn);
  if (!role)
    return fail(ApiError::make(400, "ValidationError", role_arn + " is not a valid role ARN"));
  if (auto policy = params.get("Policy"); policy && !is_valid_json(*policy))
    return fail(ApiError::make(400, "MalformedPolicyDocument",
                               "The policy is not in the valid JSON format."));

  std::string session_name(params.get_or_empty("RoleSessionName"));
  std::optional<std::string> role_id;
  if (role_resolver_) role_id = role_resolver_(role->account_id, role->role_name);
  if (!role_id) role_id = aws::stable_id("AROA", role_arn);
  std::string partition = role_arn.substr(4, role_arn.find(':', 4) - 4);

  aws::SessionSpec spec;
  spec.account_id = role->account_id;
  spec.principal_arn = "arn:" + partition + ":sts::" + role->account_id + ":assumed-role/" +
                       role->role_name + "/" + session_name;
  spec.user_id = *role_id + ":" + session_name;
  spec.duration_seconds = duration;
  auto session = credentials_.create_session(spec);
  if (!session) return fail(store_failure(session.error()));

  XmlWriter w;
  write_credentials(w, *session);
  w.open("AssumedRoleUser")
      .element("AssumedRoleId", spec.user_id)
      .element("Arn", spec.principal_arn)
      .close("AssumedRoleUser");
  if (params.has("Policy") || params.has("PolicyArns.member.1.arn") ||
      params.has("Tags.member.1.Key"))
    w.element("PackedPolicySize", int64_t{0});
  w.optional("SourceIdentity", params.get_or_empty("SourceIdentity"));
  return aws::query::response("AssumeRole", aws::query::kStsNamespace, w.str(), call.request_id);
}

Reply StsService::get_session_token(const aws::Call& call, const Params& params) {
  Validation v;
  int64_t duration = 43200;
  v.integer(params, "DurationSeconds", 900, 129600, &duration);
  v.length(params, "SerialNumber", 9, 256);
  v.length(params, "TokenCode", 6, 6);
  if (!v.ok()) return fail(v.error());

  auto id = caller(call);
  if (id.temporary())
    return fail(ApiError::make(403, "AccessDenied",
                               "Cannot call GetSessionToken with session credentials"));
  // AWS caps root sessions at one hour.
  if (id.principal_arn == aws::root_arn(id.account_id))
    duration = std::min<int64_t>(duration, 3600);

  aws::SessionSpec spec;
  spec.account_id = id.account_id;
  spec.principal_arn = id.principal_arn;
  spec.user_id = id.user_id;
  spec.duration_seconds = duration;
  auto session = credentials_.create_session(spec);
  if (!session) return fail(store_failure(session.error()));

  XmlWriter w;
  write_credentials(w, *session);
  return aws::query::response("GetSessionToken", aws::query::kStsNamespace, w.str(),
                              call.request_id);
}

Reply StsService::get_access_key_info(const aws::Call& call, const Params& params) {
  Validation v;
  v.require(params, "AccessKeyId");
  v.length(params, "AccessKeyId", 16, 128);
  if (!v.ok()) return fail(v.error());
  std::string account = call.account_id;
  if (auto id = credentials_.lookup(params.get_or_empty("AccessKeyId")); id.ok())
    account = id->account_id;
  XmlWriter w;
  w.element("Account", account);
  return aws::query::response("GetAccessKeyInfo", aws::query::kStsNamespace, w.str(),
                              call.request_id);
}

}  // namespace nimbus::services::sts
