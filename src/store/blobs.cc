#include "store/blobs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "base/ids.h"

namespace nimbus::store {

namespace fs = std::filesystem;

namespace {
// Closes the fd when it leaves scope.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool valid_hash(std::string_view h) {
  if (h.size() != 64) return false;
  for (char c : h)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}
}  // namespace

Status write_file_durably(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp." + random_hex(6);
  {
    Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (f.fd < 0) return fail(sys_error("open " + tmp));
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(f.fd, data.data() + off, data.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        auto e = sys_error("write " + tmp);
        ::unlink(tmp.c_str());
        return fail(e);
      }
      off += static_cast<size_t>(n);
    }
    if (::fsync(f.fd) != 0) {
      auto e = sys_error("fsync " + tmp);
      ::unlink(tmp.c_str());
      return fail(e);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto e = sys_error("rename " + tmp);
    ::unlink(tmp.c_str());
    return fail(e);
  }
  Fd dir{::open(fs::path(path).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd >= 0) ::fsync(dir.fd);
  return {};
}

Result<std::string> read_file(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return fail(sys_error("open " + path));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(sys_error("read " + path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

BlobStore::BlobStore(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
}

std::string BlobStore::path_of(std::string_view h) const {
  return dir_ + "/" + std::string(h);
}

Result<std::string> BlobStore::put(std::string_view data) {
  std::string h = sha256_hex(data);
  if (exists(h)) return h;
  auto st = write_file_durably(path_of(h), data);
  if (!st) return fail(st.take_error());
  return h;
}

Result<std::string> BlobStore::get(std::string_view h) const {
  if (!valid_hash(h)) return fail(SysError{"bad blob id", EINVAL});
  return read_file(path_of(h));
}

bool BlobStore::exists(std::string_view h) const {
  return valid_hash(h) && ::access(path_of(h).c_str(), F_OK) == 0;
}

Status BlobStore::remove(std::string_view h) {
  if (!valid_hash(h)) return fail(SysError{"bad blob id", EINVAL});
  if (::unlink(path_of(h).c_str()) != 0 && errno != ENOENT) return fail(sys_error("unlink blob"));
  return {};
}

}  // namespace nimbus::store
