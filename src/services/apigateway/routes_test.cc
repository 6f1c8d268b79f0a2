#include "services/apigateway/routes.h"

#include <gtest/gtest.h>

namespace nimbus::services::apigateway {
namespace {

RouteTable table(ApiKind kind, std::initializer_list<std::pair<const char*, const char*>> routes) {
  RouteTable t(kind);
  for (auto [m, p] : routes) {
    auto r = t.add(Route{m, p, std::string(m) + " " + p});
    EXPECT_TRUE(r.ok()) << m << " " << p << ": " << r.error();
  }
  return t;
}

std::string matched(const RouteTable& t, std::string_view method, std::string_view path) {
  auto m = t.match(method, path);
  return m ? m->route.key() : "none";
}

// Literal segments beat {param}, which beats {proxy+} (REST resource matching).
TEST(RouteMatch, LiteralBeatsParamBeatsGreedy) {
  auto t = table(ApiKind::kRest, {{"GET", "/pets/dog/1"},
                                  {"GET", "/pets/dog/{id}"},
                                  {"GET", "/pets/{proxy+}"},
                                  {"ANY", "/{proxy+}"}});
  EXPECT_EQ(matched(t, "GET", "/pets/dog/1"), "GET /pets/dog/1");
  EXPECT_EQ(matched(t, "GET", "/pets/dog/2"), "GET /pets/dog/{id}");
  EXPECT_EQ(matched(t, "GET", "/pets/cat/1"), "GET /pets/{proxy+}");
  // No POST route on /pets/...: the ANY greedy route answers.
  EXPECT_EQ(matched(t, "POST", "/pets/dog/1"), "ANY /{proxy+}");
}

// The most specific path wins from the left: "/a/b/{y}" beats "/a/{x}/c" for /a/b/c.
TEST(RouteMatch, LeftmostDifferenceDecides) {
  auto t = table(ApiKind::kHttp, {{"GET", "/a/{x}/c"}, {"GET", "/a/b/{y}"}});
  EXPECT_EQ(matched(t, "GET", "/a/b/c"), "GET /a/b/{y}");
  EXPECT_EQ(matched(t, "GET", "/a/z/c"), "GET /a/{x}/c");
}

// A concrete method beats ANY on the same path (HTTP API route evaluation).
TEST(RouteMatch, ConcreteMethodBeatsAny) {
  auto t = table(ApiKind::kHttp, {{"ANY", "/orders"}, {"POST", "/orders"}});
  EXPECT_EQ(matched(t, "POST", "/orders"), "POST /orders");
  EXPECT_EQ(matched(t, "GET", "/orders"), "ANY /orders");
  EXPECT_EQ(matched(t, "DELETE", "/orders"), "ANY /orders");
}

// Path specificity comes before the method: ANY /a/{x} beats GET /{proxy+}.
TEST(RouteMatch, PathBeforeMethod) {
  auto t = table(ApiKind::kHttp, {{"ANY", "/a/{x}"}, {"GET", "/{proxy+}"}});
  EXPECT_EQ(matched(t, "GET", "/a/1"), "ANY /a/{x}");
  EXPECT_EQ(matched(t, "GET", "/b/1"), "GET /{proxy+}");
}

// HTTP APIs: $default catches what no other route matches.
TEST(RouteMatch, DefaultRouteCatchesTheRest) {
  auto t = table(ApiKind::kHttp, {{"GET", "/pets"}});
  ASSERT_TRUE(t.add(Route{"", "$default", "fallback"}).ok());
  EXPECT_EQ(matched(t, "GET", "/pets"), "GET /pets");
  auto m = t.match("PUT", "/anything/else");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route.key(), "$default");
  EXPECT_EQ(m->route.target, "fallback");
  EXPECT_TRUE(m->path_params.empty());
}

// Path parameters are URL-decoded; a greedy variable takes the rest of the path.
TEST(RouteMatch, DecodesPathParameters) {
  auto t = table(ApiKind::kRest, {{"GET", "/users/{id}"}, {"GET", "/files/{proxy+}"}});
  auto m = t.match("GET", "/users/j%C3%BCrgen%20x");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->path_params.size(), 1u);
  EXPECT_EQ(m->path_params[0].first, "id");
  EXPECT_EQ(m->path_params[0].second, "j\xC3\xBCrgen x");
  // An encoded slash stays inside one segment.
  EXPECT_EQ(matched(t, "GET", "/users/a%2Fb"), "GET /users/{id}");
  auto f = t.match("GET", "/files/a/b%20c/d.txt");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->path_params[0].first, "proxy");
  EXPECT_EQ(f->path_params[0].second, "a/b c/d.txt");
}

// "/{proxy+}" needs at least one segment: the root needs its own route, as on API Gateway.
TEST(RouteMatch, GreedyDoesNotMatchItsParent) {
  auto t = table(ApiKind::kRest, {{"ANY", "/{proxy+}"}});
  EXPECT_EQ(matched(t, "GET", "/"), "none");
  EXPECT_EQ(matched(t, "GET", "/x"), "ANY /{proxy+}");
  auto files = table(ApiKind::kRest, {{"GET", "/files/{proxy+}"}});
  EXPECT_EQ(matched(files, "GET", "/files"), "none");
  ASSERT_TRUE(files.add(Route{"GET", "/", ""}).ok());
  EXPECT_EQ(matched(files, "GET", "/"), "GET /");
}

TEST(RouteMatch, MethodsAndMisses) {
  auto t = table(ApiKind::kRest, {{"GET", "/orders"}, {"get", "/lower"}});
  EXPECT_EQ(matched(t, "POST", "/orders"), "none");
  EXPECT_EQ(matched(t, "HEAD", "/orders"), "none");         // HEAD is its own method
  EXPECT_EQ(matched(t, "GET", "/orders/"), "GET /orders");  // one trailing slash ignored
  EXPECT_EQ(matched(t, "GET", "/Orders"), "none");          // paths are case-sensitive
  EXPECT_EQ(matched(t, "GET", "/lower"), "GET /lower");     // methods stored upper-case
  EXPECT_EQ(matched(t, "GET", "/orders/1"), "none");
  EXPECT_EQ(matched(t, "GET", "//orders"), "none");
}

// "The greedy path variable must be at the end of the resource path."
TEST(RouteTable, GreedyOnlyLast) {
  RouteTable t(ApiKind::kHttp);
  auto r = t.add(Route{"GET", "/{proxy+}/x", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("must be the last path part"), std::string::npos) << r.error();
}

TEST(RouteTable, RefusesMalformedTemplates) {
  RouteTable t(ApiKind::kHttp);
  for (const char* bad :
       {"orders", "/a//b", "/a/", "/a{b}", "/{}", "/{a b}", "/{+}", "/a/{x}/{x}", "/a b"})
    EXPECT_FALSE(t.add(Route{"GET", bad, ""}).ok()) << bad;
  EXPECT_FALSE(t.add(Route{"FETCH", "/a", ""}).ok());
  EXPECT_TRUE(t.routes().empty());
}

// Duplicate route keys and templates that differ only in variable names are refused.
TEST(RouteTable, RefusesConflicts) {
  RouteTable t(ApiKind::kHttp);
  ASSERT_TRUE(t.add(Route{"GET", "/a/{x}", ""}).ok());
  auto dup = t.add(Route{"GET", "/a/{x}", ""});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error(), "Route GET /a/{x} already exists");
  auto same_shape = t.add(Route{"GET", "/a/{y}", ""});
  ASSERT_FALSE(same_shape.ok());
  EXPECT_EQ(same_shape.error(),
            "Route GET /a/{y} conflicts with route GET /a/{x}: the two paths can never be told "
            "apart");
  // Other methods, ANY and distinguishable shapes are fine on an HTTP API.
  EXPECT_TRUE(t.add(Route{"POST", "/a/{y}", ""}).ok());
  EXPECT_TRUE(t.add(Route{"ANY", "/a/{z}", ""}).ok());
  EXPECT_TRUE(t.add(Route{"GET", "/a/{x}/b", ""}).ok());
  EXPECT_TRUE(t.add(Route{"GET", "/a/{p+}", ""}).ok());
  EXPECT_TRUE(t.add(Route{"", "$default", ""}).ok());
  EXPECT_FALSE(t.add(Route{"", "$default", ""}).ok());
}

// REST resources form a tree: one variable child per parent, whatever the
// method ("A sibling ({id}) of this resource already has a variable path part
// -- only one is allowed").
TEST(RouteTable, RestOneVariableSiblingPerParent) {
  RouteTable t(ApiKind::kRest);
  ASSERT_TRUE(t.add(Route{"GET", "/users/{id}", ""}).ok());
  ASSERT_TRUE(t.add(Route{"DELETE", "/users/{id}/posts", ""}).ok());
  auto r = t.add(Route{"POST", "/users/{proxy+}", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("a sibling ({id}) of this resource already has a variable path part"),
            std::string::npos)
      << r.error();
  EXPECT_FALSE(t.add(Route{"PUT", "/users/{name}", ""}).ok());
  EXPECT_TRUE(t.add(Route{"GET", "/users/me", ""}).ok());
  EXPECT_FALSE(t.add(Route{"", "$default", ""}).ok());  // REST APIs have no $default
}

TEST(RouteKey, Parses) {
  auto r = parse_route_key("POST /orders/{id}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/orders/{id}");
  EXPECT_EQ(r->key(), "POST /orders/{id}");
  EXPECT_TRUE(parse_route_key("$default")->is_default());
  EXPECT_FALSE(parse_route_key("POST").ok());
  EXPECT_FALSE(parse_route_key("POST /a /b").ok());
}

TEST(Router, MatchesAcrossApisAndRefusesCrossApiConflicts) {
  Router router;
  ASSERT_TRUE(router.add_api("orders", table(ApiKind::kRest, {{"ANY", "/orders/{proxy+}"}})).ok());
  ASSERT_TRUE(router.add_api("users", table(ApiKind::kHttp, {{"GET", "/users/{id}"}})).ok());
  auto clash = router.add_api("other", table(ApiKind::kHttp, {{"GET", "/users/{name}"}}));
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error(),
            "Route GET /users/{name} of API other conflicts with route GET /users/{id} of API "
            "users");
  EXPECT_FALSE(router.add_api("users", RouteTable(ApiKind::kHttp)).ok());

  auto m = router.match("GET", "/users/7");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->api_id, "users");
  EXPECT_EQ(m->kind, ApiKind::kHttp);
  auto o = router.match("DELETE", "/orders/1/items");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->api_id, "orders");
  EXPECT_EQ(o->kind, ApiKind::kRest);
  EXPECT_FALSE(router.match("GET", "/nothing"));

  // A more specific route of a later API wins over a greedy one of an earlier API.
  ASSERT_TRUE(router.add_api("items", table(ApiKind::kHttp, {{"GET", "/orders/special"}})).ok());
  EXPECT_EQ(router.match("GET", "/orders/special")->api_id, "items");

  // One $default per listener.
  RouteTable d1(ApiKind::kHttp), d2(ApiKind::kHttp);
  ASSERT_TRUE(d1.add(Route{"", "$default", ""}).ok());
  ASSERT_TRUE(d2.add(Route{"", "$default", ""}).ok());
  ASSERT_TRUE(router.add_api("d1", std::move(d1)).ok());
  EXPECT_FALSE(router.add_api("d2", std::move(d2)).ok());
  auto fallback = router.match("GET", "/nothing");
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->api_id, "d1");
  EXPECT_EQ(router.size(), 4u);
}

}  // namespace
}  // namespace nimbus::services::apigateway
