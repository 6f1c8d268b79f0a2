// API Gateway's stage cache (REST APIs): integration responses of cached
// methods, by cache key, for the method's cacheTtlInSeconds on the caller's
// clock, in a least-recently-used list bounded by bytes.
//
// The key is AWS's: the method's cache namespace (its resource path, e.g.
// "/orders/{id}", or the integration's cacheNamespace), the HTTP method, and
// the values of the integration's cacheKeyParameters. Nothing else of the
// request counts — not the actual path (path parameters differentiate entries
// only as cache key parameters), not query strings or headers left out of the
// key — so a request that differs only there is answered from the cache.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"
#include "base/result.h"
#include "http/message.h"
#include "services/apigateway/routes.h"

namespace nimbus::services::apigateway {

// One entry of an integration's cacheKeyParameters:
// method.request.querystring.NAME, method.request.header.NAME or
// method.request.path.NAME.
struct CacheKeyParameter {
  enum class Source { kQuery, kHeader, kPath };
  Source source = Source::kQuery;
  std::string name;
  bool operator==(const CacheKeyParameter&) const = default;
};

Result<CacheKeyParameter, std::string> parse_cache_key_parameter(std::string_view text);

// The cache key of a request to a cached method. Header names match without
// regard to case, query names exactly; a query parameter given several times
// contributes every value in order. Each part is length-prefixed, so distinct
// requests never collide by concatenation.
std::string cache_key(std::string_view cache_namespace, std::string_view method,
                      std::span<const CacheKeyParameter> params, const http::Request& req,
                      const PathParams& path_params);

// A client's `Cache-Control: max-age=0` asks for the entry to be invalidated
// and fetched again.
bool asks_to_invalidate(const http::Request& req);

// AWS's cacheClusterSize values (GB).
bool valid_cache_cluster_size(std::string_view size);

// AWS caches responses up to 1 MB.
inline constexpr size_t kMaxCachedResponseBytes = 1'048'576;
// What Nimbus spends on one stage's cache at most: a cluster of 0.5 GB or
// more is memory this process should not hold per stage.
inline constexpr size_t kMaxStageCacheBytes = 64u << 20;
// The byte budget of a stage cache: the cluster size, capped at kMaxStageCacheBytes.
size_t cache_budget_bytes(std::string_view cluster_size);

class ResponseCache {
 public:
  explicit ResponseCache(size_t budget_bytes) : budget_(budget_bytes) {}

  // The response cached under `key`, unless absent or expired (an expired entry is dropped).
  std::optional<http::Response> get(std::string_view key, TimePoint now);
  // Caches a copy until `expires`, replacing the key's entry and evicting the
  // least recently used entries until it fits. A response larger than
  // kMaxCachedResponseBytes or the budget is not cached (false).
  bool put(std::string key, const http::Response& resp, TimePoint expires);
  void invalidate(std::string_view key);
  void flush();

  size_t budget() const { return budget_; }
  size_t bytes() const;
  size_t size() const;

 private:
  struct Entry {
    std::string key;
    http::Response resp;
    TimePoint expires;
    size_t bytes = 0;
  };
  using Lru = std::list<Entry>;  // most recently used first
  void erase(Lru::iterator it);

  const size_t budget_;
  mutable std::mutex mu_;
  Lru lru_;
  std::unordered_map<std::string_view, Lru::iterator> index_;  // views of Entry::key
  size_t bytes_ = 0;
};

}  // namespace nimbus::services::apigateway
