#include "sandbox/zygote_protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace nimbus::sandbox {
namespace {

ZygoteRequest sample() {
  ZygoteRequest r;
  r.spec.argv = {"/usr/bin/python3", "-S", "/var/runtime/python/bootstrap.py"};
  r.spec.env = {"A=1", "EMPTY=", "UTF8=é"};
  r.spec.code_dir = "/data/code/fn";
  r.spec.runtime_dir = "/src/runtimes";
  r.spec.extra_mounts = {{"/data/layers/x", "/opt", true}, {"/data/rw", "/mnt/rw", false}};
  r.spec.cwd = "/var/task";
  r.spec.tmp_size_bytes = 512ull << 20;
  r.spec.uid = 20001;
  r.spec.gid = 20002;
  r.spec.hostname = "nimbus-abc";
  r.channel = true;
  r.join_fds = 3;
  return r;
}

TEST(ZygoteProtocol, RequestRoundTripsEveryField) {
  auto r = decode_request(encode_request(sample()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Spec& s = r->spec;
  EXPECT_EQ(s.argv, sample().spec.argv);
  EXPECT_TRUE(s.env.empty());  // never through the zygote's memory: a memfd the child reads
  EXPECT_EQ(s.code_dir, "/data/code/fn");
  EXPECT_EQ(s.runtime_dir, "/src/runtimes");
  ASSERT_EQ(s.extra_mounts.size(), 2u);
  EXPECT_EQ(s.extra_mounts[1].target, "/mnt/rw");
  EXPECT_FALSE(s.extra_mounts[1].read_only);
  EXPECT_EQ(s.tmp_size_bytes, 512ull << 20);
  EXPECT_EQ(s.uid, 20001u);
  EXPECT_EQ(s.gid, 20002u);
  EXPECT_EQ(s.hostname, "nimbus-abc");
  EXPECT_TRUE(s.isolate);  // the zygote only ever launches isolated instances
  EXPECT_TRUE(r->channel);
  EXPECT_EQ(r->join_fds, 3u);
  EXPECT_EQ(r->fd_count(), 3u + 2u + 3u);  // stdio, environment, channel, cgroups
  EXPECT_EQ(encode_request(sample()).find("A=1"), std::string::npos);
}

// The zygote runs as root: anything malformed is refused with a reason,
// never half-applied.
TEST(ZygoteProtocol, MalformedRequestsAreRefused) {
  auto with = [](std::string_view from, std::string_view to) {
    std::string s = encode_request(sample());
    auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  for (std::string bad :
       {std::string("not json"), std::string("[1,2]"), std::string("{}"),
        with("\"uid\":20001", "\"uid\":-1"), with("\"uid\":20001", "\"uid\":4294967295"),
        with("\"uid\":20001", "\"uid\":\"20001\""), with("\"join\":3", "\"join\":13"),
        with("\"channel\":true", "\"channel\":1"), with("\"argv\":[", "\"argv\":[1,"),
        with("\"read_only\":true", "\"read_only\":\"yes\""),
        with("\"hostname\":\"nimbus-abc\"", "\"hostname\":null"),
        std::string(kMaxZygoteMessage + 1, ' ')}) {
    auto r = decode_request(bad);
    EXPECT_FALSE(r.ok()) << bad.substr(0, 200);
    if (!r.ok()) {
      EXPECT_EQ(r.error().message.rfind("zygote request: ", 0), 0u);
    }
  }
}

TEST(ZygoteProtocol, EnvironmentRoundTripsThroughItsFile) {
  std::vector<std::string> env{"A=1", "EMPTY=", "MULTI=a=b", "UTF8=é"};
  EXPECT_EQ(decode_environment(encode_environment(env)), env);
  EXPECT_TRUE(decode_environment("").empty());
  // A truncated last entry still counts; empty entries do not.
  EXPECT_EQ(decode_environment(std::string("A=1\0\0B=2", 9)),
            (std::vector<std::string>{"A=1", "B=2"}));
}

TEST(ZygoteProtocol, RepliesRoundTrip) {
  auto ok = decode_reply(encode_reply({4242, "", 0}));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->pid, 4242);
  EXPECT_TRUE(ok->error.empty());
  auto failed = decode_reply(encode_reply({77, "mount /var/task: No such file", 2}));
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->pid, 77);
  EXPECT_EQ(failed->error, "mount /var/task: No such file");
  EXPECT_EQ(failed->error_number, 2);
  EXPECT_FALSE(decode_reply("{\"pid\":-5}").ok());
  EXPECT_FALSE(decode_reply("{\"pid\":1,\"error\":\"\",\"errno\":2}").ok());
}

}  // namespace
}  // namespace nimbus::sandbox
