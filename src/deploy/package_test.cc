#include "deploy/package.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "base/ids.h"

namespace nimbus::deploy {
namespace {

namespace fs = std::filesystem;

struct Unzipped {
  std::string data;
  int perm = 0;
  time_t mtime = 0;
};

std::map<std::string, Unzipped> unzip(const std::string& zip) {
  std::map<std::string, Unzipped> out;
  archive* a = archive_read_new();
  archive_read_support_format_zip(a);
  EXPECT_EQ(archive_read_open_memory(a, zip.data(), zip.size()), ARCHIVE_OK);
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Unzipped u;
    u.perm = archive_entry_perm(e);
    u.mtime = archive_entry_mtime(e);
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) u.data.append(buf, n);
    out[archive_entry_pathname(e)] = u;
  }
  archive_read_free(a);
  return out;
}

class PackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nimbus-package-" + random_hex(6));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& rel, const std::string& content, bool exec = false) {
    fs::path p = dir_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    ::chmod(p.c_str(), exec ? 0755 : 0644);
  }
  void touch(const std::string& rel, int seconds_ago) {
    fs::last_write_time(dir_ / rel,
                        fs::file_time_type::clock::now() - std::chrono::seconds(seconds_ago));
  }
  fs::path dir_;
};

TEST_F(PackageTest, ZipIsDeterministicWhateverTheEntryOrder) {
  auto a = make_zip({{"b.py", "B", false}, {"a.py", "A", false}});
  auto b = make_zip({{"a.py", "A", false}, {"b.py", "B", false}});
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  auto files = unzip(*a);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files["a.py"].data, "A");
  EXPECT_EQ(files["a.py"].mtime, 315532800);  // fixed: 1980-01-01
}

TEST_F(PackageTest, FolderZipKeepsContentsPathsAndExecutableBits) {
  write("order.py", "def lambda_handler(e, c):\n    return 1\n");
  write("lib/util.py", "X = 1\n");
  write("bootstrap", "#!/bin/sh\n", true);
  write("__pycache__/order.cpython-311.pyc", "junk");
  write(".git/HEAD", "ref");
  sam::Function f;
  f.code_uri = dir_.filename().string();
  auto zip = package_function(f, dir_.parent_path().string());
  ASSERT_TRUE(zip.ok()) << zip.error();
  auto files = unzip(*zip);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files["order.py"].data, "def lambda_handler(e, c):\n    return 1\n");
  EXPECT_EQ(files["lib/util.py"].data, "X = 1\n");
  EXPECT_EQ(files["bootstrap"].perm, 0755);
  EXPECT_EQ(files["order.py"].perm, 0644);
}

TEST_F(PackageTest, UnchangedFolderGivesTheSameSha256EvenWithNewMtimes) {
  write("order.py", "print(1)\n");
  write("lib/a.py", "a\n");
  auto first = package_function(sam::Function{.code_uri = dir_.string()}, "/");
  ASSERT_TRUE(first.ok()) << first.error();
  touch("order.py", 3600);
  touch("lib/a.py", 7200);
  auto second = package_function(sam::Function{.code_uri = dir_.string()}, "/");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(sha256_base64(*first), sha256_base64(*second));
  write("order.py", "print(2)\n");
  auto third = package_function(sam::Function{.code_uri = dir_.string()}, "/");
  ASSERT_TRUE(third.ok());
  EXPECT_NE(sha256_base64(*first), sha256_base64(*third));
}

TEST_F(PackageTest, AbsentCodeUriMeansTheTemplateFolder) {
  write("template.yaml", "Resources: {}\n");
  write("order.py", "x\n");
  sam::Function f;  // code_uri "."
  auto zip = package_function(f, dir_.string());
  ASSERT_TRUE(zip.ok()) << zip.error();
  auto files = unzip(*zip);
  EXPECT_TRUE(files.count("order.py"));
  EXPECT_TRUE(files.count("template.yaml"));
  EXPECT_EQ(code_folder(f, dir_.string()), dir_.string());
}

TEST_F(PackageTest, ZipFileIsTakenAsIs) {
  auto inner = make_zip({{"index.py", "x", false}});
  ASSERT_TRUE(inner.ok());
  write("code.zip", *inner);
  auto zip = package_function(sam::Function{.code_uri = "code.zip"}, dir_.string());
  ASSERT_TRUE(zip.ok()) << zip.error();
  EXPECT_EQ(*zip, *inner);
  EXPECT_EQ(code_folder(sam::Function{.code_uri = "code.zip"}, dir_.string()), "");
}

TEST_F(PackageTest, InlineCodeBecomesTheHandlerFile) {
  sam::Function py{.runtime = "python3.11", .inline_code = std::string("def h(e, c): pass\n")};
  auto zip = package_function(py, dir_.string());
  ASSERT_TRUE(zip.ok());
  auto files = unzip(*zip);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files["index.py"].data, "def h(e, c): pass\n");
  sam::Function js{.runtime = "nodejs20.x", .inline_code = std::string("exports.h=1")};
  EXPECT_EQ(unzip(*package_function(js, "")).count("index.js"), 1u);
}

TEST_F(PackageTest, MissingOrBadCodeUriIsAnError) {
  auto missing = package_function(sam::Function{.code_uri = "nope"}, dir_.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("does not exist"), std::string::npos);
  write("notes.txt", "x");
  auto bad = package_function(sam::Function{.code_uri = "notes.txt"}, dir_.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("neither a folder nor a .zip"), std::string::npos);
  fs::create_directories(dir_ / "empty");
  EXPECT_FALSE(package_function(sam::Function{.code_uri = "empty"}, dir_.string()).ok());
}

}  // namespace
}  // namespace nimbus::deploy
