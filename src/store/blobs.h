// Content-addressed files (function code zips, later S3 objects) beside the
// key-value store: written to a temp file, fsynced, renamed, so a blob either
// exists whole or not at all after a crash.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace nimbus::store {

class BlobStore {
 public:
  explicit BlobStore(std::string dir);
  // Stores data under its SHA-256 (hex) and returns the hash. Idempotent.
  Result<std::string> put(std::string_view data);
  Result<std::string> get(std::string_view sha256_hex) const;
  bool exists(std::string_view sha256_hex) const;
  std::string path_of(std::string_view sha256_hex) const;
  Status remove(std::string_view sha256_hex);
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// Writes a file durably: temp file in the same directory, fsync, rename, fsync dir.
Status write_file_durably(const std::string& path, std::string_view data);
Result<std::string> read_file(const std::string& path);

}  // namespace nimbus::store
