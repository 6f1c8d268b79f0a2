#include "services/lambda/code_package.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "base/ids.h"

namespace nimbus::services::lambda {

namespace fs = std::filesystem;

namespace {

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};

aws::ApiError unzip_error(std::string_view why) {
  return aws::ApiError::invalid_parameter(
      "Could not unzip uploaded file. Please check your file, then try to upload again. (" +
      std::string(why) + ")");
}

// A relative path that stays inside its root: no "..", no absolute path.
bool safe_relative(std::string_view p) {
  if (p.empty() || p.front() == '/') return false;
  fs::path path{std::string(p)};
  for (const auto& part : path)
    if (part == "..") return false;
  return true;
}

Status write_all(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail(sys_error("write"));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return {};
}

Result<void, aws::ApiError> extract(archive* a, const fs::path& root, const UnpackLimits& limits) {
  archive_entry* entry = nullptr;
  uint64_t total = 0, entries = 0;
  for (;;) {
    int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      return fail(unzip_error(archive_error_string(a) ?: "bad archive"));
    if (++entries > limits.max_entries) return fail(unzip_error("too many entries"));
    const char* raw = archive_entry_pathname(entry);
    std::string name = raw ? raw : "";
    while (name.starts_with("./")) name.erase(0, 2);
    if (name.empty() || name == ".") continue;
    if (!safe_relative(name)) return fail(unzip_error("entry escapes the package: " + name));
    fs::path target = root / name;
    std::error_code ec;
    auto type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) {
      fs::create_directories(target, ec);
      if (ec) return fail(unzip_error(ec.message()));
      ::chmod(target.c_str(), 0755);
      continue;
    }
    fs::create_directories(target.parent_path(), ec);
    if (ec) return fail(unzip_error(ec.message()));
    ::chmod(target.parent_path().c_str(), 0755);
    if (type == AE_IFLNK) {
      const char* link = archive_entry_symlink(entry);
      std::string dest = link ? link : "";
      // A link may only point inside the package.
      fs::path resolved = (target.parent_path() / dest).lexically_normal();
      auto rel = resolved.lexically_relative(root);
      if (dest.empty() || dest.front() == '/' || rel.empty() || *rel.begin() == "..")
        return fail(unzip_error("symbolic link escapes the package: " + name));
      fs::create_symlink(dest, target, ec);
      if (ec) return fail(unzip_error(ec.message()));
      continue;
    }
    if (type != AE_IFREG && type != 0) continue;  // devices, fifos: ignored
    bool exec = (archive_entry_perm(entry) & 0111) != 0;
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                    exec ? 0755 : 0644);
    if (fd < 0) return fail(unzip_error("cannot create " + name));
    const void* buf;
    size_t size;
    la_int64_t offset;
    Result<void, aws::ApiError> result;
    for (;;) {
      int r = archive_read_data_block(a, &buf, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        result = fail(unzip_error(archive_error_string(a) ?: "corrupt entry"));
        break;
      }
      total += size;
      if (total > limits.max_unzipped_bytes) {
        result = fail(aws::ApiError::invalid_parameter("Unzipped size must be smaller than " +
                                                       std::to_string(limits.max_unzipped_bytes) +
                                                       " bytes"));
        break;
      }
      if (::lseek(fd, offset, SEEK_SET) < 0 || !write_all(fd, buf, size)) {
        result = fail(unzip_error("write failed"));
        break;
      }
    }
    if (result.ok() && ::fsync(fd) != 0) result = fail(unzip_error("fsync failed"));
    ::close(fd);
    ::chmod(target.c_str(), exec ? 0755 : 0644);
    if (!result.ok()) return result;
  }
  return {};
}

// Places `from` (a layer's entry) at `to`, replacing whatever an earlier
// layer put there.
Status place(const fs::path& from, const fs::path& to, fs::file_type type) {
  std::error_code ec;
  auto existing = fs::symlink_status(to, ec);
  if (!ec && fs::exists(existing)) {
    if (type == fs::file_type::directory && fs::is_directory(existing)) return {};
    fs::remove_all(to, ec);
    if (ec) return fail(SysError{"remove " + to.string() + ": " + ec.message()});
  }
  ec.clear();
  if (type == fs::file_type::directory) {
    fs::create_directory(to, ec);
    ::chmod(to.c_str(), 0755);
  } else if (type == fs::file_type::symlink) {
    fs::copy_symlink(from, to, ec);
  } else {
    fs::create_hard_link(from, to, ec);
    if (ec) {
      ec.clear();
      fs::copy_file(from, to, ec);
    }
  }
  if (ec) return fail(SysError{"place " + to.string() + ": " + ec.message()});
  return {};
}

}  // namespace

Result<void, aws::ApiError> merge_layers(std::span<const std::string> layer_dirs,
                                         const std::string& dest_dir) {
  std::error_code ec;
  if (fs::is_directory(dest_dir, ec)) return {};
  fs::path tmp = dest_dir + ".tmp-" + random_hex(6);
  auto failed = [&](std::string why) -> Result<void, aws::ApiError> {
    fs::remove_all(tmp, ec);
    return fail(aws::ApiError::service_failure("cannot prepare the layers: " + why));
  };
  fs::create_directories(tmp, ec);
  if (ec) return failed(ec.message());
  ::chmod(tmp.c_str(), 0755);
  for (const auto& dir : layer_dirs) {
    // Layer directories come from unpack_zip: no link leads out of them, and
    // symlinks are copied as links, never followed.
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      auto type = it->symlink_status(ec).type();
      if (ec) break;
      fs::path to = tmp / it->path().lexically_relative(dir);
      if (auto st = place(it->path(), to, type); !st) return failed(st.error().message);
    }
    if (ec) return failed(dir + ": " + ec.message());
  }
  fs::rename(tmp, dest_dir, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    if (!fs::is_directory(dest_dir)) return failed("cannot place " + dest_dir);
  }
  return {};
}

Result<void, aws::ApiError> unpack_zip(std::string_view zip, const std::string& dest_dir,
                                       const UnpackLimits& limits) {
  std::unique_ptr<archive, ArchiveCloser> a(archive_read_new());
  archive_read_support_format_zip(a.get());
  if (archive_read_open_memory(a.get(), zip.data(), zip.size()) != ARCHIVE_OK)
    return fail(unzip_error(archive_error_string(a.get()) ?: "not a zip file"));
  fs::path dest(dest_dir);
  fs::path tmp = dest.string() + ".tmp-" + random_hex(6);
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) return fail(aws::ApiError::service_failure("cannot create code directory"));
  ::chmod(tmp.c_str(), 0755);
  auto r = extract(a.get(), tmp, limits);
  if (!r.ok()) {
    fs::remove_all(tmp, ec);
    return r;
  }
  fs::rename(tmp, dest, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    if (!fs::exists(dest))
      return fail(aws::ApiError::service_failure("cannot place code directory"));
  }
  return {};
}

}  // namespace nimbus::services::lambda
