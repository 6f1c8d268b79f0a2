// Route tables of the API Gateway front door: which route of which API answers
// a request, with API Gateway's precedence, and which route sets are refused.
//
// A route is a method (or ANY) and a path template made of literal segments,
// `{name}` variables (one whole segment each) and at most one greedy `{name+}`
// as the last segment. HTTP APIs may also have the `$default` catch-all.
//
// Precedence (both API kinds): among the routes whose method fits, the most
// specific path wins, compared segment by segment from the left: a literal
// beats `{param}`, which beats `{proxy+}`; on equal paths a concrete method
// beats ANY; `$default` only answers when nothing else matched.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace nimbus::services::apigateway {

enum class ApiKind {
  kRest,  // API Gateway REST API (SAM `Api` events, payload format 1.0)
  kHttp,  // API Gateway HTTP API (SAM `HttpApi` events, payload 1.0 or 2.0)
};

struct Route {
  std::string method;  // "GET", "POST", ... or "ANY"; empty for `$default`
  std::string path;    // template such as "/users/{id}", or "$default"
  std::string target;  // what the route invokes (e.g. a function name); opaque here

  bool is_default() const { return path == "$default"; }
  // The HTTP API route key: "GET /users/{id}" or "$default".
  std::string key() const;
};

using PathParams = std::vector<std::pair<std::string, std::string>>;  // decoded, template order

struct RouteMatch {
  Route route;
  PathParams path_params;
  std::string api_id;  // set by Router; empty from a bare RouteTable
  ApiKind kind = ApiKind::kRest;
};

// Parses an HTTP API route key: "GET /orders", "ANY /{proxy+}" or "$default".
Result<Route, std::string> parse_route_key(std::string_view key);

class RouteTable {
 public:
  explicit RouteTable(ApiKind kind) : kind_(kind) {}

  // Adds a route after validating its template; refuses a route that
  // duplicates or can never be told apart from one already present, with a
  // message fit to show at deploy time.
  Result<void, std::string> add(Route route);

  // `method` is the request's method; `raw_path` its still percent-encoded path.
  std::optional<RouteMatch> match(std::string_view method, std::string_view raw_path) const;

  ApiKind kind() const { return kind_; }
  std::vector<Route> routes() const;

 private:
  friend class Router;
  enum class SegKind : uint8_t { kLiteral = 0, kParam = 1, kGreedy = 2 };  // order = precedence
  struct Segment {
    SegKind kind;
    std::string text;  // literal text, or the variable's name
  };
  struct Compiled {
    Route route;
    std::vector<Segment> segments;
  };
  // How specific a successful match is; smaller compares as more specific.
  struct Rank {
    std::vector<SegKind> kinds;
    bool any_method = false;
  };

  static Result<std::vector<Segment>, std::string> compile(std::string_view path);
  static bool indistinguishable(const Compiled& a, const Compiled& b);
  static bool more_specific(const Rank& a, const Rank& b);
  static std::optional<std::pair<Rank, PathParams>> try_match(
      const Compiled& c, std::string_view method, const std::vector<std::string_view>& raw_segs);
  Result<void, std::string> check_rest_siblings(const Compiled& c) const;
  // Best non-default match, with its rank.
  std::optional<std::pair<Rank, RouteMatch>> best(std::string_view method,
                                                  std::string_view raw_path) const;

  ApiKind kind_;
  std::vector<Compiled> routes_;
  std::optional<Route> default_route_;
};

// Several APIs behind one listener. Routes of all APIs share one path space,
// so a route that conflicts with a route of another API is refused too.
class Router {
 public:
  Result<void, std::string> add_api(std::string api_id, RouteTable table);
  std::optional<RouteMatch> match(std::string_view method, std::string_view raw_path) const;
  size_t size() const { return apis_.size(); }

 private:
  std::vector<std::pair<std::string, RouteTable>> apis_;
};

}  // namespace nimbus::services::apigateway
