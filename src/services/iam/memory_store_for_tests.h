// An in-memory store::Store for unit tests that need to inject write failures
// (RocksDB cannot be made to fail on demand). Header-only and test-only:
// nothing in nimbus_core includes it.
#pragma once

#include <map>
#include <mutex>

#include "store/store.h"

namespace nimbus::testing {

class MemoryStore final : public store::Store {
 public:
  std::optional<std::string> get(std::string_view key) const override {
    std::lock_guard lk(mu_);
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }
  Status write(const store::WriteBatch& batch) override {
    std::lock_guard lk(mu_);
    ++writes_;
    if (fail_writes_) return fail(SysError{"injected write failure"});
    for (const auto& op : batch.ops()) {
      if (op.is_delete)
        data_.erase(op.key);
      else
        data_[op.key] = op.value;
    }
    return {};
  }
  Status write_buffered(const store::WriteBatch& batch) override { return write(batch); }
  store::KeyValues scan(std::string_view prefix, std::string_view start_after,
                        size_t limit) const override {
    std::lock_guard lk(mu_);
    store::KeyValues out;
    auto it = start_after.empty() ? data_.lower_bound(prefix) : data_.upper_bound(start_after);
    if (!start_after.empty() && std::string_view(start_after) < prefix)
      it = data_.lower_bound(prefix);
    for (; it != data_.end() && out.size() < limit; ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      out.emplace_back(it->first, it->second);
    }
    return out;
  }
  store::KeyValues scan_reverse(std::string_view prefix, std::string_view start_before,
                                size_t limit) const override {
    std::lock_guard lk(mu_);
    store::KeyValues out;
    auto it = start_before.empty() ? data_.end() : data_.lower_bound(start_before);
    while (it != data_.begin() && out.size() < limit) {
      --it;
      if (it->first < prefix) break;
      if (it->first.compare(0, prefix.size(), prefix) != 0) continue;  // past the prefix's keys
      out.emplace_back(it->first, it->second);
    }
    return out;
  }
  Status delete_prefix(std::string_view prefix) override {
    std::lock_guard lk(mu_);
    auto it = data_.lower_bound(prefix);
    while (it != data_.end() && it->first.compare(0, prefix.size(), prefix) == 0)
      it = data_.erase(it);
    return {};
  }

  size_t size() const {
    std::lock_guard lk(mu_);
    return data_.size();
  }
  size_t writes() const {
    std::lock_guard lk(mu_);
    return writes_;
  }
  void set_fail_writes(bool v) {
    std::lock_guard lk(mu_);
    fail_writes_ = v;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string, std::less<>> data_;
  size_t writes_ = 0;
  bool fail_writes_ = false;
};

}  // namespace nimbus::testing
