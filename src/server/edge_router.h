// The edge: one port for every AWS service. Picks the service a request is for
// (SigV4 credential scope, X-Amz-Target, path, query Action), authenticates it,
// and hands it over; also serves Nimbus's own /_nimbus/ admin routes.
//
// Request pipeline, in a fixed order (Alternator's): admin routes → pick the
// service → authenticate → service.handle(). Errors are written in the chosen
// service's protocol.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aws/credentials.h"
#include "aws/service.h"
#include "aws/sigv4.h"
#include "base/clock.h"
#include "http/message.h"

namespace nimbus::server {

struct EdgeOptions {
  bool require_auth = false;  // verify SigV4 signatures (credentials file, or non-loopback bind)
  bool allow_remote_reset = false;
  std::string region = "us-east-1";
};

class EdgeRouter {
 public:
  EdgeRouter(EdgeOptions options, aws::CredentialStore& credentials, Clock& clock);

  void add_service(aws::Service& service);
  // Extra admin route under /_nimbus/ (exact path prefix match).
  using AdminHandler = std::function<void(http::Request, http::Reply)>;
  void add_admin_route(std::string prefix, AdminHandler handler);
  // Serves /restapis/{id}/{stage}/_user_request_/... (API Gateway's REST
  // invoke path) ahead of the service dispatch; returns false to let the
  // request go on to the services.
  using UserRequestHandler = std::function<bool(http::Request&, http::Reply&)>;
  void set_user_request_handler(UserRequestHandler handler) { user_request_ = std::move(handler); }
  // Extra health fields (e.g. isolation state).
  void set_health_info(std::string key, std::string value);

  void handle(http::Request req, http::Reply reply);

  // Which service a request is for (its signing name), or empty, given the
  // request's SigV4 credential scope when it has one.
  std::string pick_service(const http::Request& req,
                           const std::optional<aws::sigv4::CredentialScope>& scope) const;

 private:
  void health(http::Reply reply) const;
  void reset(const http::Request& req, http::Reply reply);

  EdgeOptions options_;
  aws::CredentialStore& credentials_;
  Clock& clock_;
  std::map<std::string, aws::Service*, std::less<>> services_;
  std::vector<std::pair<std::string, AdminHandler>> admin_;
  std::map<std::string, std::string> health_info_;
  UserRequestHandler user_request_;
};

}  // namespace nimbus::server
