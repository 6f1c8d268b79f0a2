// AWS IAM over the query protocol: roles and their policies, kept as metadata
// in the Store so tools (Terraform, SAM, the CLI) that create execution roles
// work. Nothing is enforced: policies are stored and returned, never evaluated.
//
// Layout: "iam/role/<lowercase name>" holds the role as JSON (attached managed
// policy ARNs included); "iam/rolepolicy/<lowercase role>/<policy name>" holds
// each inline policy document verbatim. Role names are case-insensitive, as in
// IAM, and keep the case they were created with.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "aws/query.h"
#include "aws/service.h"
#include "base/clock.h"
#include "store/store.h"

namespace nimbus::services::iam {

inline constexpr std::string_view kVersion = "2010-05-08";

class IamService final : public aws::Service {
 public:
  IamService(store::Store& store, const Clock& clock);

  std::string_view signing_name() const override { return "iam"; }
  aws::Protocol protocol() const override { return aws::Protocol::kQuery; }
  void handle(aws::Call call) override;
  // Deletes everything under "iam/".
  void reset() override;

  // The RoleId of an existing role (for STS's AssumedRoleId), any case.
  std::optional<std::string> role_id(std::string_view role_name) const;

 private:
  using Reply = Result<http::Response, aws::ApiError>;
  Reply dispatch(const aws::Call& call, const aws::query::Params& params);

  Reply create_role(const aws::Call& call, const aws::query::Params& params);
  Reply get_role(const aws::Call& call, const aws::query::Params& params);
  Reply list_roles(const aws::Call& call, const aws::query::Params& params);
  Reply delete_role(const aws::Call& call, const aws::query::Params& params);
  Reply update_assume_role_policy(const aws::Call& call, const aws::query::Params& params);
  Reply attach_role_policy(const aws::Call& call, const aws::query::Params& params);
  Reply detach_role_policy(const aws::Call& call, const aws::query::Params& params);
  Reply list_attached_role_policies(const aws::Call& call, const aws::query::Params& params);
  Reply put_role_policy(const aws::Call& call, const aws::query::Params& params);
  Reply get_role_policy(const aws::Call& call, const aws::query::Params& params);
  Reply delete_role_policy(const aws::Call& call, const aws::query::Params& params);
  Reply list_role_policies(const aws::Call& call, const aws::query::Params& params);

  store::Store& store_;
  const Clock& clock_;
  // Serialises read-modify-write of role records (handle() runs on several
  // I/O threads); each operation does at most one synced store write.
  std::mutex write_mu_;
};

}  // namespace nimbus::services::iam
