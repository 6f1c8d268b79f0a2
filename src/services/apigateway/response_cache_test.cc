#include "services/apigateway/response_cache.h"

#include <gtest/gtest.h>

#include <vector>

namespace nimbus::services::apigateway {
namespace {

using std::chrono::seconds;

http::Request get(std::string query = "", std::vector<std::pair<std::string, std::string>> h = {}) {
  http::Request r;
  r.method = "GET";
  r.path = "/orders/7";
  r.query = std::move(query);
  for (auto& [k, v] : h) r.headers.add(k, v);
  return r;
}

http::Response body(std::string b) {
  http::Response r;
  r.body = std::move(b);
  r.headers.set("Content-Type", "text/plain");
  return r;
}

std::vector<CacheKeyParameter> params(std::initializer_list<std::string_view> names) {
  std::vector<CacheKeyParameter> out;
  for (auto n : names) out.push_back(parse_cache_key_parameter(n).value());
  return out;
}

TEST(CacheKeyParameterParse, Sources) {
  auto q = parse_cache_key_parameter("method.request.querystring.color");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->source, CacheKeyParameter::Source::kQuery);
  EXPECT_EQ(q->name, "color");
  EXPECT_EQ(parse_cache_key_parameter("method.request.header.Accept")->source,
            CacheKeyParameter::Source::kHeader);
  EXPECT_EQ(parse_cache_key_parameter("method.request.path.id")->source,
            CacheKeyParameter::Source::kPath);
  EXPECT_FALSE(parse_cache_key_parameter("method.request.body.x").ok());
  EXPECT_FALSE(parse_cache_key_parameter("method.request.querystring.").ok());
  EXPECT_FALSE(parse_cache_key_parameter("integration.request.querystring.q").ok());
}

// AWS: query strings and headers outside cacheKeyParameters, and the actual
// path, do not differentiate entries; key parameters do.
TEST(CacheKey, OnlyKeyParametersDifferentiate) {
  PathParams id7{{"id", "7"}}, id8{{"id", "8"}};
  auto none = params({});
  EXPECT_EQ(cache_key("/orders/{id}", "GET", none, get("color=red"), id7),
            cache_key("/orders/{id}", "GET", none, get("size=L", {{"Accept", "x"}}), id8));
  EXPECT_NE(cache_key("/orders/{id}", "GET", none, get(), id7),
            cache_key("/orders/{id}", "HEAD", none, get(), id7));
  EXPECT_NE(cache_key("/orders/{id}", "GET", none, get(), id7),
            cache_key("/orders", "GET", none, get(), id7));

  auto color = params({"method.request.querystring.color"});
  auto k = [&](std::string q, const PathParams& p = {}) {
    return cache_key("/orders/{id}", "GET", color, get(std::move(q)), p);
  };
  EXPECT_NE(k("color=red"), k("color=blue"));
  EXPECT_EQ(k("color=red&size=S"), k("size=XL&color=red"));
  EXPECT_NE(k("color=red"), k(""));  // absent differs from present
  EXPECT_NE(k("color="), k(""));     // ... even when empty
  EXPECT_NE(k("color=a&color=b"), k("color=ab"));
  EXPECT_NE(k("Color=red"), k("color=red"));  // query names are case-sensitive

  auto accept = params({"method.request.header.Accept"});
  EXPECT_EQ(cache_key("/o", "GET", accept, get("", {{"accept", "a/b"}}), {}),
            cache_key("/o", "GET", accept, get("", {{"Accept", "a/b"}}), {}));
  EXPECT_NE(cache_key("/o", "GET", accept, get("", {{"Accept", "a/b"}}), {}),
            cache_key("/o", "GET", accept, get("", {{"Accept", "a/c"}}), {}));

  auto id = params({"method.request.path.id"});
  EXPECT_NE(cache_key("/orders/{id}", "GET", id, get(), id7),
            cache_key("/orders/{id}", "GET", id, get(), id8));
}

TEST(CacheControl, MaxAgeZeroInvalidates) {
  EXPECT_TRUE(asks_to_invalidate(get("", {{"Cache-Control", "max-age=0"}})));
  EXPECT_TRUE(asks_to_invalidate(get("", {{"cache-control", "no-store, MAX-AGE=0 "}})));
  EXPECT_FALSE(asks_to_invalidate(get("", {{"Cache-Control", "max-age=60"}})));
  EXPECT_FALSE(asks_to_invalidate(get("", {{"Cache-Control", "no-cache"}})));
  EXPECT_FALSE(asks_to_invalidate(get()));
}

TEST(CacheBudget, DerivedFromTheClusterSizeAndCapped) {
  EXPECT_TRUE(valid_cache_cluster_size("0.5"));
  EXPECT_TRUE(valid_cache_cluster_size("237"));
  EXPECT_FALSE(valid_cache_cluster_size("1"));
  EXPECT_EQ(cache_budget_bytes("0.5"), kMaxStageCacheBytes);
  EXPECT_EQ(cache_budget_bytes("237"), kMaxStageCacheBytes);
  EXPECT_EQ(cache_budget_bytes(""), kMaxStageCacheBytes);
}

TEST(ResponseCache, HitMissAndTtlOnVirtualTime) {
  ManualClock clock;
  ResponseCache cache(1 << 20);
  EXPECT_FALSE(cache.get("k", clock.now()));
  ASSERT_TRUE(cache.put("k", body("one"), clock.now() + seconds(300)));
  auto hit = cache.get("k", clock.now());
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->body, "one");
  EXPECT_EQ(hit->headers.get_or("Content-Type"), "text/plain");
  EXPECT_FALSE(cache.get("other", clock.now()));
  clock.advance(seconds(299));
  EXPECT_TRUE(cache.get("k", clock.now()));
  clock.advance(seconds(1));  // the TTL is over: expired entries are dropped
  EXPECT_FALSE(cache.get("k", clock.now()));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(ResponseCache, PutReplacesTheEntry) {
  ManualClock clock;
  ResponseCache cache(1 << 20);
  ASSERT_TRUE(cache.put("k", body("one"), clock.now() + seconds(10)));
  size_t before = cache.bytes();
  ASSERT_TRUE(cache.put("k", body("two!"), clock.now() + seconds(10)));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), before + 1);
  EXPECT_EQ(cache.get("k", clock.now())->body, "two!");
}

TEST(ResponseCache, EvictsLeastRecentlyUsedByBytes) {
  ManualClock clock;
  auto later = clock.now() + seconds(300);
  const std::string kb(1000, 'x');
  ResponseCache probe(1 << 20);
  ASSERT_TRUE(probe.put("a", body(kb), later));
  const size_t one = probe.bytes();  // what one such entry costs

  ResponseCache cache(3 * one);
  ASSERT_TRUE(cache.put("a", body(kb), later));
  ASSERT_TRUE(cache.put("b", body(kb), later));
  ASSERT_TRUE(cache.put("c", body(kb), later));
  EXPECT_EQ(cache.bytes(), 3 * one);
  EXPECT_TRUE(cache.get("a", clock.now()));  // "b" is now the least recently used
  ASSERT_TRUE(cache.put("d", body(kb), later));
  EXPECT_FALSE(cache.get("b", clock.now()));
  EXPECT_TRUE(cache.get("a", clock.now()));
  EXPECT_TRUE(cache.get("c", clock.now()));
  EXPECT_TRUE(cache.get("d", clock.now()));
  EXPECT_LE(cache.bytes(), cache.budget());

  // One entry twice the size evicts as many as it needs.
  ASSERT_TRUE(cache.put("big", body(kb + kb), later));
  EXPECT_LE(cache.bytes(), cache.budget());
  EXPECT_TRUE(cache.get("big", clock.now()));
  EXPECT_EQ(cache.size(), 2u);
}

TEST(ResponseCache, RefusesWhatCannotFit) {
  ManualClock clock;
  auto later = clock.now() + seconds(300);
  ResponseCache small(100);
  EXPECT_FALSE(small.put("k", body(std::string(200, 'x')), later));
  EXPECT_EQ(small.size(), 0u);
  // AWS's 1 MB limit on a cached response, whatever the budget.
  ResponseCache big(8 << 20);
  EXPECT_FALSE(big.put("k", body(std::string(kMaxCachedResponseBytes + 1, 'x')), later));
  EXPECT_TRUE(big.put("k", body(std::string(kMaxCachedResponseBytes, 'x')), later));
}

TEST(ResponseCache, InvalidateAndFlush) {
  ManualClock clock;
  auto later = clock.now() + seconds(300);
  ResponseCache cache(1 << 20);
  ASSERT_TRUE(cache.put("a", body("1"), later));
  ASSERT_TRUE(cache.put("b", body("2"), later));
  cache.invalidate("a");
  cache.invalidate("missing");
  EXPECT_FALSE(cache.get("a", clock.now()));
  EXPECT_TRUE(cache.get("b", clock.now()));
  cache.flush();
  EXPECT_FALSE(cache.get("b", clock.now()));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  ASSERT_TRUE(cache.put("a", body("3"), later));  // usable after a flush
  EXPECT_EQ(cache.get("a", clock.now())->body, "3");
}

}  // namespace
}  // namespace nimbus::services::apigateway
