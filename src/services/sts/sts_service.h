// AWS STS over the query protocol: caller identity and temporary credentials.
// Sessions are minted in the CredentialStore, which persists them and lets the
// edge authenticate requests signed with them.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "aws/credentials.h"
#include "aws/query.h"
#include "aws/service.h"
#include "base/clock.h"

namespace nimbus::services::sts {

inline constexpr std::string_view kVersion = "2011-06-15";

class StsService final : public aws::Service {
 public:
  StsService(aws::CredentialStore& credentials, const Clock& clock);

  std::string_view signing_name() const override { return "sts"; }
  aws::Protocol protocol() const override { return aws::Protocol::kQuery; }
  void handle(aws::Call call) override;
  // Forgets every temporary credential; static keys stay.
  void reset() override;

  // Finds the RoleId IAM gave a role (account, role name), so AssumedRoleId
  // matches GetRole; without it, or for unknown roles, a stable id derived from
  // the role ARN is used (roles are not required to exist: not enforced).
  using RoleResolver = std::function<std::optional<std::string>(std::string_view account_id,
                                                                std::string_view role_name)>;
  void set_role_resolver(RoleResolver resolver);

 private:
  // The identity the call was made with: a known key, else the edge's
  // principal, else the root of the call's account (auth disabled).
  aws::Identity caller(const aws::Call& call) const;

  Result<http::Response, aws::ApiError> get_caller_identity(const aws::Call& call);
  Result<http::Response, aws::ApiError> assume_role(const aws::Call& call,
                                                    const aws::query::Params& params);
  Result<http::Response, aws::ApiError> get_session_token(const aws::Call& call,
                                                          const aws::query::Params& params);
  Result<http::Response, aws::ApiError> get_access_key_info(const aws::Call& call,
                                                            const aws::query::Params& params);

  aws::CredentialStore& credentials_;
  [[maybe_unused]] const Clock& clock_;  // sessions take time from the CredentialStore's clock
  RoleResolver role_resolver_;
};

// Splits "arn:aws:iam::ACCOUNT:role/path/NAME" into account and role name.
struct RoleArn {
  std::string account_id;
  std::string role_name;
};
std::optional<RoleArn> parse_role_arn(std::string_view arn);

}  // namespace nimbus::services::sts
