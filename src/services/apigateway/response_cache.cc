#include "services/apigateway/response_cache.h"

#include <array>
#include <cstdlib>

#include "base/text.h"

namespace nimbus::services::apigateway {

namespace {

void append_part(std::string& key, std::string_view part) {
  key += std::to_string(part.size());
  key += ':';
  key += part;
}

// Bookkeeping per entry (list node, index slot, header vector) on top of the bytes it holds.
constexpr size_t kEntryOverhead = 128;

size_t entry_bytes(std::string_view key, const http::Response& r) {
  size_t n = kEntryOverhead + 2 * key.size() + r.body.size();
  for (const auto& [k, v] : r.headers.all()) n += k.size() + v.size();
  return n;
}

}  // namespace

Result<CacheKeyParameter, std::string> parse_cache_key_parameter(std::string_view text) {
  constexpr std::array<std::pair<std::string_view, CacheKeyParameter::Source>, 3> kPrefixes{{
      {"method.request.querystring.", CacheKeyParameter::Source::kQuery},
      {"method.request.header.", CacheKeyParameter::Source::kHeader},
      {"method.request.path.", CacheKeyParameter::Source::kPath},
  }};
  for (const auto& [prefix, source] : kPrefixes)
    if (text.starts_with(prefix) && text.size() > prefix.size())
      return CacheKeyParameter{source, std::string(text.substr(prefix.size()))};
  return fail("cache key parameter '" + std::string(text) +
              "' is not method.request.querystring.NAME, method.request.header.NAME or "
              "method.request.path.NAME");
}

std::string cache_key(std::string_view cache_namespace, std::string_view method,
                      std::span<const CacheKeyParameter> params, const http::Request& req,
                      const PathParams& path_params) {
  std::string key;
  append_part(key, cache_namespace);
  append_part(key, method);
  for (const auto& p : params) {
    // The parameter's identity is part of the key too: ?a=1 and ?b=1 differ.
    key += static_cast<char>('0' + static_cast<int>(p.source));
    append_part(key, p.name);
    switch (p.source) {
      case CacheKeyParameter::Source::kQuery: {
        std::string values;
        int count = 0;
        for (const auto& [k, v] : http::parse_query(req.query))
          if (k == p.name) {
            append_part(values, v);
            ++count;
          }
        key += std::to_string(count);
        key += '#';
        key += values;
        break;
      }
      case CacheKeyParameter::Source::kHeader: {
        auto v = req.headers.get(p.name);
        key += v ? '1' : '0';
        if (v) append_part(key, *v);
        break;
      }
      case CacheKeyParameter::Source::kPath: {
        std::string_view value;
        bool found = false;
        for (const auto& [k, v] : path_params)
          if (k == p.name) {
            value = v;
            found = true;
          }
        key += found ? '1' : '0';
        if (found) append_part(key, value);
        break;
      }
    }
  }
  return key;
}

bool asks_to_invalidate(const http::Request& req) {
  auto cc = req.headers.get("Cache-Control");
  if (!cc) return false;
  for (auto directive : split(*cc, ','))
    if (ascii_lower(trim_ows(directive)) == "max-age=0") return true;
  return false;
}

bool valid_cache_cluster_size(std::string_view size) {
  for (std::string_view s : {"0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"})
    if (s == size) return true;
  return false;
}

size_t cache_budget_bytes(std::string_view cluster_size) {
  // Every valid size but the smallest is over the cap; 0.5 GB is too.
  double gb = std::strtod(std::string(cluster_size).c_str(), nullptr);
  if (gb <= 0) gb = 0.5;  // AWS's default size
  double bytes = gb * 1024 * 1024 * 1024;
  return bytes >= static_cast<double>(kMaxStageCacheBytes) ? kMaxStageCacheBytes
                                                           : static_cast<size_t>(bytes);
}

std::optional<http::Response> ResponseCache::get(std::string_view key, TimePoint now) {
  std::lock_guard lk(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (now >= it->second->expires) {
    erase(it->second);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return lru_.front().resp;
}

bool ResponseCache::put(std::string key, const http::Response& resp, TimePoint expires) {
  size_t n = entry_bytes(key, resp);
  std::lock_guard lk(mu_);
  if (auto it = index_.find(key); it != index_.end()) erase(it->second);
  if (resp.body.size() > kMaxCachedResponseBytes || n > budget_) return false;
  while (bytes_ + n > budget_ && !lru_.empty()) erase(std::prev(lru_.end()));
  lru_.push_front(Entry{std::move(key), resp, expires, n});
  index_.emplace(lru_.front().key, lru_.begin());
  bytes_ += n;
  return true;
}

void ResponseCache::invalidate(std::string_view key) {
  std::lock_guard lk(mu_);
  if (auto it = index_.find(key); it != index_.end()) erase(it->second);
}

void ResponseCache::flush() {
  std::lock_guard lk(mu_);
  index_.clear();
  lru_.clear();
  bytes_ = 0;
}

size_t ResponseCache::bytes() const {
  std::lock_guard lk(mu_);
  return bytes_;
}

size_t ResponseCache::size() const {
  std::lock_guard lk(mu_);
  return lru_.size();
}

void ResponseCache::erase(Lru::iterator it) {
  bytes_ -= it->bytes;
  index_.erase(it->key);
  lru_.erase(it);
}

}  // namespace nimbus::services::apigateway
