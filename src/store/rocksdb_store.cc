// The embedded backend of store::Store on RocksDB.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <filesystem>

#include "store/store.h"

namespace nimbus::store {

namespace {

class RocksStore final : public Store {
 public:
  explicit RocksStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}

  std::optional<std::string> get(std::string_view key) const override {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
    if (!s.ok()) return std::nullopt;
    return value;
  }

  Status write(const WriteBatch& batch) override { return apply(batch, true); }
  Status write_buffered(const WriteBatch& batch) override { return apply(batch, false); }

  Status apply(const WriteBatch& batch, bool sync) {
    rocksdb::WriteBatch wb;
    for (const auto& op : batch.ops()) {
      if (op.is_delete)
        wb.Delete(op.key);
      else
        wb.Put(op.key, op.value);
    }
    rocksdb::WriteOptions wo;
    wo.sync = sync;  // acknowledged means durable: fsync the WAL before returning
    auto s = db_->Write(wo, &wb);
    if (!s.ok()) return fail(SysError{"store write failed: " + s.ToString()});
    return {};
  }

  KeyValues scan(std::string_view prefix, std::string_view start_after,
                 size_t limit) const override {
    KeyValues out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    if (start_after.empty() || start_after < prefix) {
      it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
    } else {
      it->Seek(rocksdb::Slice(start_after.data(), start_after.size()));
      if (it->Valid() && it->key().ToStringView() == start_after) it->Next();
    }
    for (; it->Valid() && out.size() < limit; it->Next()) {
      auto k = it->key().ToStringView();
      if (!k.starts_with(prefix)) break;
      out.emplace_back(std::string(k), it->value().ToString());
    }
    return out;
  }

  KeyValues scan_reverse(std::string_view prefix, std::string_view start_before,
                         size_t limit) const override {
    KeyValues out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    // The first key past every key with the prefix: the prefix with its last
    // byte below 0xff incremented (and what follows it dropped).
    std::string end(prefix);
    while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
    if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
    std::string_view bound = start_before;
    if (bound.empty() || (!end.empty() && std::string_view(end) < bound)) bound = end;
    if (bound.empty()) {
      it->SeekToLast();
    } else {
      it->SeekForPrev(rocksdb::Slice(bound.data(), bound.size()));
      if (it->Valid() && it->key().ToStringView() == bound) it->Prev();
    }
    for (; it->Valid() && out.size() < limit; it->Prev()) {
      auto k = it->key().ToStringView();
      if (!k.starts_with(prefix)) break;
      out.emplace_back(std::string(k), it->value().ToString());
    }
    return out;
  }

  Status delete_prefix(std::string_view prefix) override {
    WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
         it->Valid() && it->key().starts_with(rocksdb::Slice(prefix.data(), prefix.size()));
         it->Next())
      batch.del(it->key().ToString());
    if (batch.empty()) return {};
    return write(batch);
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_rocksdb(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(SysError{"cannot create " + dir + ": " + ec.message(), ec.value()});
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_background_jobs = 2;
  options.keep_log_file_num = 2;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return fail(SysError{"cannot open store at " + dir + ": " + s.ToString()});
  return std::unique_ptr<Store>(std::make_unique<RocksStore>(std::unique_ptr<rocksdb::DB>(raw)));
}

}  // namespace nimbus::store
