#include "deploy/package.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace nimbus::deploy {

namespace fs = std::filesystem;

namespace {

struct WriterCloser {
  void operator()(archive* a) const { archive_write_free(a); }
};

// 1980-01-01 00:00 UTC: the earliest time a zip's DOS timestamp can hold.
constexpr time_t kFixedMtime = 315532800;

Result<std::string, std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return fail(std::string("cannot read ") + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path resolve_path(const std::string& p, const std::string& template_dir) {
  fs::path path(p);
  if (path.is_relative()) path = fs::path(template_dir.empty() ? "." : template_dir) / path;
  return path.lexically_normal();
}

}  // namespace

Result<std::string, std::string> make_zip(std::vector<ZipEntry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const ZipEntry& a, const ZipEntry& b) { return a.name < b.name; });
  std::unique_ptr<archive, WriterCloser> a(archive_write_new());
  archive_write_set_format_zip(a.get());
  archive_write_set_options(a.get(), "zip:compression=deflate");
  // Big enough for any function package (Lambda's direct-upload limit is 50 MB).
  size_t cap = 1024;
  for (auto& e : entries) cap += e.data.size() + e.name.size() * 2 + 256;
  std::string out(cap, '\0');
  size_t used = 0;
  if (archive_write_open_memory(a.get(), out.data(), out.size(), &used) != ARCHIVE_OK)
    return fail(std::string("zip: ") + (archive_error_string(a.get()) ?: "cannot open"));
  for (auto& e : entries) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> ent(archive_entry_new(),
                                                                 archive_entry_free);
    archive_entry_set_pathname(ent.get(), e.name.c_str());
    archive_entry_set_filetype(ent.get(), AE_IFREG);
    archive_entry_set_perm(ent.get(), e.executable ? 0755 : 0644);
    archive_entry_set_size(ent.get(), static_cast<la_int64_t>(e.data.size()));
    archive_entry_set_mtime(ent.get(), kFixedMtime, 0);
    archive_entry_set_uid(ent.get(), 0);
    archive_entry_set_gid(ent.get(), 0);
    if (archive_write_header(a.get(), ent.get()) != ARCHIVE_OK)
      return fail("zip: " + e.name + ": " + (archive_error_string(a.get()) ?: "bad entry"));
    if (!e.data.empty() && archive_write_data(a.get(), e.data.data(), e.data.size()) < 0)
      return fail("zip: " + e.name + ": " + (archive_error_string(a.get()) ?: "write failed"));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return fail(std::string("zip: ") + (archive_error_string(a.get()) ?: "close failed"));
  out.resize(used);
  return out;
}

Result<std::vector<ZipEntry>, std::string> folder_entries(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return fail("not a folder: " + dir);
  std::vector<ZipEntry> out;
  fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec),
      end;
  if (ec) return fail("cannot read " + dir + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return fail("cannot read " + dir + ": " + ec.message());
    auto name = it->path().filename().string();
    if (it->is_directory(ec)) {
      if (name == ".git" || name == "__pycache__" || name == ".aws-sam")
        it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    auto data = read_file(it->path());
    if (!data) return fail(data.error());
    ZipEntry e;
    e.name = it->path().lexically_relative(dir).generic_string();
    e.data = std::move(data.value());
    e.executable =
        (fs::status(it->path(), ec).permissions() & fs::perms::owner_exec) != fs::perms::none;
    out.push_back(std::move(e));
  }
  return out;
}

std::string inline_code_file(const std::string& runtime) {
  if (runtime.starts_with("python")) return "index.py";
  if (runtime.starts_with("nodejs")) return "index.js";
  return "index";
}

std::string code_folder(const sam::Function& f, const std::string& template_dir) {
  if (f.inline_code) return "";
  auto p = resolve_path(f.code_uri.empty() ? "." : f.code_uri, template_dir);
  std::error_code ec;
  if (!fs::is_directory(p, ec)) return "";
  std::string s = p.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

namespace {

// A ContentUri / CodeUri: a folder zipped deterministically, or a .zip file's bytes.
Result<std::string, std::string> package_uri(std::string_view member, const std::string& uri,
                                             const std::optional<sam::S3Location>& s3,
                                             const std::string& template_dir) {
  const std::string m(member);
  if (s3)
    return fail(m + " in S3 (s3://" + s3->bucket + "/" + s3->key +
                ") is not supported yet: use a local folder or .zip file");
  auto p = resolve_path(uri.empty() ? "." : uri, template_dir);
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    auto entries = folder_entries(p.string());
    if (!entries) return fail(entries.error());
    if (entries->empty()) return fail(m + " folder " + p.string() + " is empty");
    return make_zip(std::move(entries.value()));
  }
  if (!fs::exists(p, ec)) return fail(m + " " + p.string() + " does not exist");
  if (p.extension() != ".zip" && p.extension() != ".jar")
    return fail(m + " " + p.string() + " is neither a folder nor a .zip file");
  return read_file(p);
}

}  // namespace

Result<std::string, std::string> package_function(const sam::Function& f,
                                                  const std::string& template_dir) {
  if (f.inline_code)
    return make_zip({ZipEntry{inline_code_file(f.runtime), *f.inline_code, false}});
  return package_uri("CodeUri", f.code_uri, f.code_s3, template_dir);
}

Result<std::string, std::string> package_layer(const sam::LayerVersion& l,
                                               const std::string& template_dir) {
  return package_uri("ContentUri", l.content_uri, l.content_s3, template_dir);
}

}  // namespace nimbus::deploy
