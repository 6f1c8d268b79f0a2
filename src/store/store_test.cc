#include <gtest/gtest.h>

#include <filesystem>

#include "base/ids.h"
#include "store/blobs.h"
#include "store/store.h"

namespace nimbus::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("nimbus-store-" + random_hex(6));
    auto s = open_rocksdb(dir_.string());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s.value());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, PutGetDelete) {
  ASSERT_TRUE(store_->put("a/1", "one").ok());
  EXPECT_EQ(store_->get("a/1"), "one");
  ASSERT_TRUE(store_->del("a/1").ok());
  EXPECT_FALSE(store_->get("a/1").has_value());
}

TEST_F(StoreTest, ScanIsPrefixBoundedOrderedAndPaged) {
  WriteBatch b;
  for (const char* k : {"x/c", "x/a", "x/b", "y/a", "w/z"}) b.put(k, k);
  ASSERT_TRUE(store_->write(b).ok());
  auto all = store_->scan("x/");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].first, "x/a");
  EXPECT_EQ(all[2].first, "x/c");
  auto page = store_->scan("x/", "x/a", 1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].first, "x/b");
}

// Query with ScanIndexForward false reads a partition backwards, from the
// end of the prefix or from just before the page's start key.
TEST_F(StoreTest, ReverseScanIsPrefixBoundedDescendingAndPaged) {
  WriteBatch b;
  for (const char* k : {"x/c", "x/a", "x/b", "y/a", "w/z", "x"}) b.put(k, k);
  b.put(std::string("x/\xff\xff"), "high");
  ASSERT_TRUE(store_->write(b).ok());
  auto all = store_->scan_reverse("x/");
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].first, std::string("x/\xff\xff"));
  EXPECT_EQ(all[1].first, "x/c");
  EXPECT_EQ(all[3].first, "x/a");
  auto page = store_->scan_reverse("x/", "x/c", 1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].first, "x/b");
  EXPECT_TRUE(store_->scan_reverse("x/", "x/a").empty());
  auto tail = store_->scan_reverse(std::string("\xff\xff"));
  EXPECT_TRUE(tail.empty());
}

TEST_F(StoreTest, DeletePrefixLeavesOthers) {
  ASSERT_TRUE(store_->put("p/1", "1").ok());
  ASSERT_TRUE(store_->put("p/2", "2").ok());
  ASSERT_TRUE(store_->put("q/1", "3").ok());
  ASSERT_TRUE(store_->delete_prefix("p/").ok());
  EXPECT_TRUE(store_->scan("p/").empty());
  EXPECT_EQ(store_->get("q/1"), "3");
}

TEST_F(StoreTest, SurvivesReopen) {
  ASSERT_TRUE(store_->put("k", "v").ok());
  store_.reset();
  auto s = open_rocksdb(dir_.string());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s.value()->get("k"), "v");
  store_ = std::move(s.value());
}

TEST_F(StoreTest, BlobsAreContentAddressed) {
  BlobStore blobs((dir_ / "blobs").string());
  auto h = blobs.put("hello");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.value(), sha256_hex("hello"));
  EXPECT_EQ(blobs.get(h.value()).value(), "hello");
  EXPECT_FALSE(blobs.get("../../etc/passwd").ok());  // ids are validated, never paths
  ASSERT_TRUE(blobs.remove(h.value()).ok());
  EXPECT_FALSE(blobs.exists(h.value()));
}

}  // namespace
}  // namespace nimbus::store
