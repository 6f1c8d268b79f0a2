// The one storage interface every service keeps its state behind. Keys are
// namespaced by service ("lambda/fn/NAME", "iam/role/NAME"); values are opaque
// bytes (services store JSON). A cluster backend can replace the embedded one
// without touching the services.
#pragma once

#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace nimbus::store {

class WriteBatch {
 public:
  struct Op {
    bool is_delete;
    std::string key;
    std::string value;
  };
  void put(std::string key, std::string value) {
    ops_.push_back({false, std::move(key), std::move(value)});
  }
  void del(std::string key) { ops_.push_back({true, std::move(key), {}}); }
  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }

 private:
  std::vector<Op> ops_;
};

using KeyValues = std::vector<std::pair<std::string, std::string>>;

class Store {
 public:
  virtual ~Store() = default;
  virtual std::optional<std::string> get(std::string_view key) const = 0;
  // Applies every op atomically. When it returns ok, the batch is synced to
  // disk: callers acknowledge clients only after this returns.
  virtual Status write(const WriteBatch& batch) = 0;
  // Applies every op atomically without waiting for the disk: for data whose
  // loss in a crash is acceptable (function log lines), never for acknowledged
  // user writes.
  virtual Status write_buffered(const WriteBatch& batch) = 0;
  // Keys with `prefix`, in byte order, strictly after `start_after` when given.
  virtual KeyValues scan(std::string_view prefix, std::string_view start_after = {},
                         size_t limit = std::numeric_limits<size_t>::max()) const = 0;
  // Keys with `prefix` in descending byte order, strictly before
  // `start_before` when given (a Query with ScanIndexForward false).
  virtual KeyValues scan_reverse(std::string_view prefix, std::string_view start_before = {},
                                 size_t limit = std::numeric_limits<size_t>::max()) const = 0;
  // Deletes every key with `prefix` (durably).
  virtual Status delete_prefix(std::string_view prefix) = 0;

  Status put(std::string key, std::string value) {
    WriteBatch b;
    b.put(std::move(key), std::move(value));
    return write(b);
  }
  Status del(std::string key) {
    WriteBatch b;
    b.del(std::move(key));
    return write(b);
  }
};

// The embedded backend: RocksDB under `dir`, every write synced (WAL fsync).
Result<std::unique_ptr<Store>> open_rocksdb(const std::string& dir);

}  // namespace nimbus::store
