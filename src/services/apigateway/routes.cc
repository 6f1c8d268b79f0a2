#include "services/apigateway/routes.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "base/text.h"
#include "http/message.h"

namespace nimbus::services::apigateway {

namespace {

constexpr std::array<std::string_view, 8> kMethods = {"ANY",     "DELETE", "GET",  "HEAD",
                                                      "OPTIONS", "PATCH",  "POST", "PUT"};

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Characters API Gateway allows in a path part (a-zA-Z0-9._- plus the braces
// of a variable); we also accept the other RFC 3986 path characters in
// literals so that routes like "/files/a:b" or "/~user" can be declared.
bool is_literal_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("._-~!$&'()*,;=:@%").find(c) != std::string_view::npos;
}

bool is_var_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

// Raw (percent-encoded) request path segments. "/" has none; one trailing
// slash is ignored, so "/orders/" reaches the "/orders" route.
std::vector<std::string_view> request_segments(std::string_view path) {
  if (path.starts_with('/')) path.remove_prefix(1);
  if (path.ends_with('/')) path.remove_suffix(1);
  if (path.empty()) return {};
  return split(path, '/');
}

std::string decode(std::string_view raw) {
  return http::url_decode(raw, /*form_encoding=*/false);
}

}  // namespace

std::string Route::key() const {
  return is_default() ? std::string("$default") : method + " " + path;
}

Result<Route, std::string> parse_route_key(std::string_view key) {
  if (key == "$default") return Route{"", "$default", ""};
  auto space = key.find(' ');
  if (space == std::string_view::npos || space == 0 || key.find(' ', space + 1) != key.npos)
    return fail(std::string("Invalid route key '") + std::string(key) +
                "': expected \"METHOD /path\" or \"$default\"");
  return Route{std::string(key.substr(0, space)), std::string(key.substr(space + 1)), ""};
}

Result<std::vector<RouteTable::Segment>, std::string> RouteTable::compile(std::string_view path) {
  auto bad = [&](std::string why) {
    return fail("Invalid path '" + std::string(path) + "': " + std::move(why));
  };
  if (!path.starts_with('/')) return bad("it must start with '/'");
  std::vector<Segment> segs;
  if (path == "/") return segs;
  std::vector<std::string> names;
  auto parts = split(path.substr(1), '/');
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    if (p.empty()) return bad("empty path part (no '//' and no trailing '/')");
    if (p.starts_with('{')) {
      if (!p.ends_with('}') || p.size() < 3)
        return bad("a variable must be a whole path part such as {name}");
      std::string_view name = p.substr(1, p.size() - 2);
      bool greedy = name.ends_with('+');
      if (greedy) name.remove_suffix(1);
      if (name.empty() || !std::all_of(name.begin(), name.end(), is_var_name_char))
        return bad("variable names may only use a-zA-Z0-9._-");
      if (greedy && i + 1 != parts.size())
        return bad("the greedy variable {" + std::string(name) + "+} must be the last path part");
      if (std::find(names.begin(), names.end(), name) != names.end())
        return bad("variable {" + std::string(name) + "} appears twice");
      names.emplace_back(name);
      segs.push_back({greedy ? SegKind::kGreedy : SegKind::kParam, std::string(name)});
      continue;
    }
    if (!std::all_of(p.begin(), p.end(), is_literal_char))
      return bad("path part '" + std::string(p) +
                 "' may only contain a-zA-Z0-9._- and whole-part {variables}");
    segs.push_back({SegKind::kLiteral, decode(p)});
  }
  return segs;
}

bool RouteTable::indistinguishable(const Compiled& a, const Compiled& b) {
  if (a.route.method != b.route.method || a.segments.size() != b.segments.size()) return false;
  for (size_t i = 0; i < a.segments.size(); ++i) {
    const auto &x = a.segments[i], &y = b.segments[i];
    if (x.kind != y.kind || (x.kind == SegKind::kLiteral && x.text != y.text)) return false;
  }
  return true;
}

// REST APIs keep resources in a tree where a parent has at most one variable
// child ("/a/{id}" and "/a/{proxy+}" cannot both exist, whatever the methods).
Result<void, std::string> RouteTable::check_rest_siblings(const Compiled& c) const {
  auto part = [](const Segment& s) {
    switch (s.kind) {
      case SegKind::kLiteral:
        return s.text;
      case SegKind::kParam:
        return "{" + s.text + "}";
      case SegKind::kGreedy:
        return "{" + s.text + "+}";
    }
    return std::string();
  };
  for (const auto& other : routes_) {
    size_t n = std::min(c.segments.size(), other.segments.size());
    for (size_t i = 0; i < n; ++i) {
      std::string mine = part(c.segments[i]), theirs = part(other.segments[i]);
      if (mine == theirs) continue;  // same resource so far: look one level deeper
      if (c.segments[i].kind != SegKind::kLiteral && other.segments[i].kind != SegKind::kLiteral)
        return fail("Route " + c.route.key() + ": a sibling (" + theirs +
                    ") of this resource already has a variable path part -- only one is allowed");
      break;  // different resources from here on
    }
  }
  return {};
}

Result<void, std::string> RouteTable::add(Route route) {
  if (route.is_default()) {
    if (kind_ == ApiKind::kRest) return fail(std::string("REST APIs have no $default route"));
    if (default_route_) return fail(std::string("Route $default already exists"));
    route.method.clear();
    default_route_ = std::move(route);
    return {};
  }
  route.method = upper(route.method);
  if (std::find(kMethods.begin(), kMethods.end(), route.method) == kMethods.end())
    return fail("Route " + route.key() +
                ": method must be one of ANY, DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
  auto segs = compile(route.path);
  if (!segs) return fail(segs.error());
  Compiled c{std::move(route), std::move(segs.value())};
  for (const auto& other : routes_) {
    if (!indistinguishable(c, other)) continue;
    if (c.route.path == other.route.path) return fail("Route " + c.route.key() + " already exists");
    return fail("Route " + c.route.key() + " conflicts with route " + other.route.key() +
                ": the two paths can never be told apart");
  }
  if (kind_ == ApiKind::kRest) {
    if (auto r = check_rest_siblings(c); !r) return r;
  }
  routes_.push_back(std::move(c));
  return {};
}

std::vector<Route> RouteTable::routes() const {
  std::vector<Route> out;
  for (const auto& c : routes_) out.push_back(c.route);
  if (default_route_) out.push_back(*default_route_);
  return out;
}

bool RouteTable::more_specific(const Rank& a, const Rank& b) {
  size_t n = std::min(a.kinds.size(), b.kinds.size());
  for (size_t i = 0; i < n; ++i)
    if (a.kinds[i] != b.kinds[i]) return a.kinds[i] < b.kinds[i];
  return !a.any_method && b.any_method;
}

std::optional<std::pair<RouteTable::Rank, PathParams>> RouteTable::try_match(
    const Compiled& c, std::string_view method, const std::vector<std::string_view>& raw_segs) {
  bool any = c.route.method == "ANY";
  if (!any && c.route.method != method) return std::nullopt;
  Rank rank{{}, any};
  PathParams params;
  size_t n = raw_segs.size();
  for (size_t i = 0; i < c.segments.size(); ++i) {
    const Segment& s = c.segments[i];
    rank.kinds.push_back(s.kind);
    if (i >= n) return std::nullopt;
    if (s.kind == SegKind::kGreedy) {
      // The greedy variable takes the rest of the path; it needs at least one
      // segment, so "/{proxy+}" does not answer "/" (API Gateway needs a
      // separate root route for that too).
      std::string rest;
      for (size_t j = i; j < n; ++j) {
        if (j > i) rest += '/';
        rest += decode(raw_segs[j]);
      }
      params.emplace_back(s.text, std::move(rest));
      return std::make_pair(std::move(rank), std::move(params));
    }
    if (s.kind == SegKind::kParam) {
      if (raw_segs[i].empty()) return std::nullopt;
      params.emplace_back(s.text, decode(raw_segs[i]));
    } else if (decode(raw_segs[i]) != s.text) {
      return std::nullopt;
    }
  }
  if (c.segments.size() != n) return std::nullopt;
  return std::make_pair(std::move(rank), std::move(params));
}

std::optional<std::pair<RouteTable::Rank, RouteMatch>> RouteTable::best(
    std::string_view method, std::string_view raw_path) const {
  auto segs = request_segments(raw_path);
  std::optional<std::pair<Rank, RouteMatch>> out;
  for (const auto& c : routes_) {
    auto m = try_match(c, method, segs);
    if (!m) continue;
    if (out && !more_specific(m->first, out->first)) continue;
    out.emplace(std::move(m->first), RouteMatch{c.route, std::move(m->second), {}, kind_});
  }
  return out;
}

std::optional<RouteMatch> RouteTable::match(std::string_view method,
                                            std::string_view raw_path) const {
  if (auto b = best(method, raw_path)) return std::move(b->second);
  if (default_route_) return RouteMatch{*default_route_, {}, {}, kind_};
  return std::nullopt;
}

Result<void, std::string> Router::add_api(std::string api_id, RouteTable table) {
  for (const auto& [id, other] : apis_) {
    if (id == api_id) return fail("API " + api_id + " is already registered");
    if (table.default_route_ && other.default_route_)
      return fail("Route $default of API " + api_id + " conflicts with route $default of API " +
                  id);
    for (const auto& mine : table.routes_)
      for (const auto& theirs : other.routes_)
        if (RouteTable::indistinguishable(mine, theirs))
          return fail("Route " + mine.route.key() + " of API " + api_id + " conflicts with route " +
                      theirs.route.key() + " of API " + id);
  }
  apis_.emplace_back(std::move(api_id), std::move(table));
  return {};
}

std::optional<RouteMatch> Router::match(std::string_view method, std::string_view raw_path) const {
  std::optional<std::pair<RouteTable::Rank, RouteMatch>> best;
  for (const auto& [id, table] : apis_) {
    auto m = table.best(method, raw_path);
    if (!m || (best && !RouteTable::more_specific(m->first, best->first))) continue;
    m->second.api_id = id;
    best = std::move(m);
  }
  if (best) return std::move(best->second);
  for (const auto& [id, table] : apis_)
    if (table.default_route_) return RouteMatch{*table.default_route_, {}, id, table.kind_};
  return std::nullopt;
}

}  // namespace nimbus::services::apigateway
