// Lambda authorizers (REST TOKEN / REQUEST, HTTP API REQUEST with IAM-policy
// or simple responses): what identifies a caller, how the authorizer's answer
// is read, how its policy is evaluated against the method ARN (with `*` and
// `?` wildcards; an explicit Deny wins), and the result cache keyed by the
// identity sources for authorizerResultTtlInSeconds on the injected Clock.
#pragma once

#include <boost/json/object.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "http/message.h"
#include "services/apigateway/routes.h"

namespace nimbus::services::apigateway {

struct AuthorizerSpec {
  std::string name;
  bool token = false;  // TOKEN (REST) or REQUEST
  std::string function, qualifier;
  // "header:authorization" (lowercased name), "query:NAME", "stage:NAME".
  std::vector<std::string> identity_sources;
  int ttl_seconds = 300;
  bool v2_payload = false;        // HTTP API authorizerPayloadFormatVersion 2.0
  bool simple_responses = false;  // HTTP API enableSimpleResponses
  // TOKEN: identityValidationExpression; a token that does not match answers
  // 401 without invoking the authorizer.
  std::shared_ptr<const std::regex> token_pattern;
};

// Parses "method.request.header.Authorization, method.request.querystring.q"
// (REST) or "$request.header.Authorization" (HTTP) entries.
Result<std::vector<std::string>, std::string> parse_identity_sources(
    const std::vector<std::string>& sources);

// The values of the identity sources, joined (the cache key), or nullopt when
// one is missing or empty (the request is answered 401 without invoking).
std::optional<std::vector<std::string>> identity_values(
    const AuthorizerSpec& spec, const http::Request& req,
    const std::vector<std::pair<std::string, std::string>>& stage_variables);

struct AuthPolicy {
  struct Statement {
    bool allow = false;
    std::vector<std::string> resources;
  };
  std::vector<Statement> statements;
  std::string principal_id;
  boost::json::object context;
  bool simple = false;  // simple response: `authorized` decides
  bool authorized = false;
};

enum class AuthDecision { kAllow, kExplicitDeny, kNotAllowed };

// Reads the authorizer function's result.
Result<AuthPolicy, std::string> parse_authorizer_result(std::string_view payload,
                                                        bool simple_responses);

// Glob match of an ARN pattern: `*` any run of characters, `?` one.
bool arn_matches(std::string_view pattern, std::string_view arn);

AuthDecision evaluate(const AuthPolicy& policy, std::string_view method_arn);

// arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH (path without its
// leading slash).
std::string method_arn(std::string_view region, std::string_view account, std::string_view api,
                       std::string_view stage, std::string_view method, std::string_view path);

class AuthorizerCache {
 public:
  explicit AuthorizerCache(size_t max_entries = 10000) : max_(max_entries) {}
  std::optional<AuthPolicy> get(const std::string& key, TimePoint now);
  void put(const std::string& key, AuthPolicy policy, TimePoint expires);
  void clear();

 private:
  struct Entry {
    AuthPolicy policy;
    TimePoint expires;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  size_t max_;
};

}  // namespace nimbus::services::apigateway
