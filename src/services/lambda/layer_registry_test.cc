#include "services/lambda/layer_registry.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "base/ids.h"
#include "services/iam/memory_store_for_tests.h"
#include "services/lambda/code_package.h"

namespace nimbus::services::lambda {
namespace {

namespace fs = std::filesystem;

LayerVersionRecord version(int n, std::string blob = "b") {
  CodeInfo code{"sha", 10, "/data/code/" + blob, blob};
  return LayerVersionRecord{boost::json::object{{"Version", n}}, code};
}

// Lambda numbers a layer's versions from 1 and never hands a number out twice,
// even after every version was deleted.
TEST(LayerRegistry, VersionsAreNeverReusedAfterDeletion) {
  testing::MemoryStore store;
  LayerRegistry reg(store);
  auto make = [](int n) { return version(n); };
  EXPECT_EQ(reg.publish("deps", make)->info.at("Version").as_int64(), 1);
  EXPECT_EQ(reg.publish("deps", make)->info.at("Version").as_int64(), 2);
  ASSERT_TRUE(reg.remove("deps", 1).ok());
  ASSERT_TRUE(reg.remove("deps", 2).ok());
  EXPECT_TRUE(reg.layers().empty());  // ListLayers no longer shows it
  EXPECT_EQ(reg.publish("deps", make)->info.at("Version").as_int64(), 3);
  EXPECT_TRUE(reg.remove("deps", 42).ok());  // absent: still success (204)
}

// Layers survive a restart: state is in the store, read back by load().
TEST(LayerRegistry, PersistsBeforeAnsweringAndLoadsBack) {
  testing::MemoryStore store;
  {
    LayerRegistry reg(store);
    ASSERT_TRUE(reg.publish("a", [](int n) { return version(n, "x"); }).ok());
    ASSERT_TRUE(reg.publish("a", [](int n) { return version(n, "y"); }).ok());
    ASSERT_TRUE(reg.remove("a", 1).ok());
  }
  LayerRegistry again(store);
  ASSERT_TRUE(again.load().ok());
  EXPECT_FALSE(again.get("a", 1));
  auto v2 = again.get("a", 2);
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->code.blob, "y");
  EXPECT_EQ(again.publish("a", [](int n) { return version(n); })->info.at("Version").as_int64(), 3);
}

TEST(LayerRegistry, AFailedWriteChangesNothing) {
  testing::MemoryStore store;
  LayerRegistry reg(store);
  store.set_fail_writes(true);
  EXPECT_FALSE(reg.publish("a", [](int n) { return version(n); }).ok());
  store.set_fail_writes(false);
  EXPECT_TRUE(reg.layers().empty());
  EXPECT_EQ(reg.publish("a", [](int n) { return version(n); })->info.at("Version").as_int64(), 1);
}

TEST(LayerRegistry, CorruptRecordIsAnError) {
  EXPECT_FALSE(parse_layer("{").ok());
  EXPECT_FALSE(parse_layer(R"({"versions":{}})").ok());
  auto rec = parse_layer(serialize_layer(LayerRecord{{{3, version(3)}}, 4}));
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->next_version, 4);
  EXPECT_EQ(rec->versions.at(3).code.dir, "/data/code/b");
}

class MergeLayersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("nimbus-layers-" + random_hex(6));
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string write(const std::string& layer, const std::string& rel, const std::string& text) {
    fs::path p = root_ / layer / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return (root_ / layer).string();
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  fs::path root_;
};

// Lambda extracts a function's layers into /opt in order: a later layer's
// file replaces an earlier one's, other files of both stay.
TEST_F(MergeLayersTest, LaterLayersOverwriteEarlierOnes) {
  auto a = write("a", "python/common.py", "A");
  write("a", "python/only_a.py", "a");
  write("a", "bin/tool", "file in a");
  auto b = write("b", "python/common.py", "B");
  write("b", "bin/tool/inner", "a folder in b");
  std::vector<std::string> dirs{a, b};
  fs::path dest = root_ / "opt";
  ASSERT_TRUE(merge_layers(dirs, dest.string()).ok());
  EXPECT_EQ(read(dest / "python/common.py"), "B");
  EXPECT_EQ(read(dest / "python/only_a.py"), "a");
  EXPECT_EQ(read(dest / "bin/tool/inner"), "a folder in b");
  // The layer's own files are untouched (links are replaced, never written through).
  EXPECT_EQ(read(root_ / "a/python/common.py"), "A");
  // An existing merged directory is reused as it is (its name is its content).
  std::vector<std::string> reversed{b, a};
  ASSERT_TRUE(merge_layers(reversed, dest.string()).ok());
  EXPECT_EQ(read(dest / "python/common.py"), "B");
  fs::path other = root_ / "opt2";
  ASSERT_TRUE(merge_layers(reversed, other.string()).ok());
  EXPECT_EQ(read(other / "python/common.py"), "A");
}

TEST_F(MergeLayersTest, SymlinksAreCopiedAsLinksNotFollowed) {
  auto a = write("a", "lib/libx.so.1", "elf");
  fs::create_symlink("libx.so.1", root_ / "a/lib/libx.so");
  std::vector<std::string> dirs{a};
  fs::path dest = root_ / "opt";
  ASSERT_TRUE(merge_layers(dirs, dest.string()).ok());
  EXPECT_TRUE(fs::is_symlink(dest / "lib/libx.so"));
  EXPECT_EQ(fs::read_symlink(dest / "lib/libx.so"), "libx.so.1");
}

TEST_F(MergeLayersTest, AMissingLayerDirectoryLeavesNothingBehind) {
  std::vector<std::string> dirs{(root_ / "absent").string()};
  EXPECT_FALSE(merge_layers(dirs, (root_ / "opt").string()).ok());
  EXPECT_FALSE(fs::exists(root_ / "opt"));
  EXPECT_EQ(std::distance(fs::directory_iterator(root_), fs::directory_iterator()), 0);
}

}  // namespace
}  // namespace nimbus::services::lambda
