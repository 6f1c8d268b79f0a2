#include "faas/runtime_channel.h"

#include <gtest/gtest.h>

namespace nimbus::faas {
namespace {

std::string frame(char kind, std::string_view body) {
  std::string out;
  uint32_t len = static_cast<uint32_t>(body.size() + 1);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  out.push_back(kind);
  out.append(body);
  return out;
}

using namespace std::string_literals;

TEST(RuntimeChannel, EventFrameCarriesEveryFieldInOrder) {
  RuntimeEvent e{.request_id = "req-1",
                 .deadline_ms = 1700000000123,
                 .invoked_arn = "arn:aws:lambda:us-east-1:000000000000:function:f",
                 .trace_id = "Root=1-a-b",
                 .client_context = "",
                 .cognito_identity = "{}",
                 .payload = R"({"a":1})"};
  std::string f = encode_event_frame(e);
  EXPECT_EQ(f, frame('V',
                     "req-1\0"s
                     "1700000000123\0"s
                     "arn:aws:lambda:us-east-1:000000000000:function:f\0"s
                     "Root=1-a-b\0"s
                     "\0"s
                     "{}\0"s
                     R"({"a":1})"));
}

TEST(RuntimeChannel, ReadsEachRuntimeFrameKind) {
  FrameReader r(1 << 20);
  r.feed(frame('N', ""));
  r.feed(frame('R', "id-1\0{\"ok\":true}"s));
  r.feed(frame('E', "id-2\0Runtime.HandlerError\0{\"errorMessage\":\"x\"}"s));
  r.feed(frame('I', "Runtime.ImportModuleError\0{}"s));
  auto m = r.next();
  ASSERT_TRUE(m && *m);
  EXPECT_EQ((*m)->kind, FrameKind::kReady);
  m = r.next();
  ASSERT_TRUE(m && *m);
  EXPECT_EQ((*m)->kind, FrameKind::kResponse);
  EXPECT_EQ((*m)->request_id, "id-1");
  EXPECT_EQ((*m)->payload, R"({"ok":true})");
  m = r.next();
  ASSERT_TRUE(m && *m);
  EXPECT_EQ((*m)->kind, FrameKind::kError);
  EXPECT_EQ((*m)->request_id, "id-2");
  EXPECT_EQ((*m)->error_type, "Runtime.HandlerError");
  EXPECT_EQ((*m)->payload, R"({"errorMessage":"x"})");
  m = r.next();
  ASSERT_TRUE(m && *m);
  EXPECT_EQ((*m)->kind, FrameKind::kInitError);
  EXPECT_EQ((*m)->error_type, "Runtime.ImportModuleError");
  m = r.next();
  ASSERT_TRUE(m);
  EXPECT_FALSE(*m);
}

TEST(RuntimeChannel, ReassemblesFramesSplitAnywhere) {
  std::string bytes = frame('R', "id\0payload-with-some-length"s) + frame('N', "");
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    FrameReader r(1024);
    r.feed(std::string_view(bytes).substr(0, cut));
    int got = 0;
    while (true) {
      auto m = r.next();
      ASSERT_TRUE(m);
      if (!*m) break;
      ++got;
    }
    r.feed(std::string_view(bytes).substr(cut));
    while (true) {
      auto m = r.next();
      ASSERT_TRUE(m);
      if (!*m) break;
      ++got;
    }
    EXPECT_EQ(got, 2) << "cut at " << cut;
  }
}

TEST(RuntimeChannel, RejectsOversizedMalformedAndUnknownFrames) {
  {
    FrameReader r(16);
    r.feed(frame('R', "id\0" + std::string(32, 'x')));
    EXPECT_FALSE(r.next());
  }
  {
    FrameReader r(1024);
    r.feed(frame('R', "no separator"));
    EXPECT_FALSE(r.next());
  }
  {
    FrameReader r(1024);
    r.feed(frame('Z', ""));
    EXPECT_FALSE(r.next());
  }
  {
    FrameReader r(1024);
    r.feed(std::string("\0\0\0\0", 4));
    EXPECT_FALSE(r.next());
  }
  {
    FrameReader r(1024);
    r.feed(frame('N', "junk"));
    EXPECT_FALSE(r.next());
  }
}

TEST(RuntimeChannel, PayloadMayContainNulBytes) {
  FrameReader r(1024);
  r.feed(frame('R', "id\0a\0b"s));
  auto m = r.next();
  ASSERT_TRUE(m && *m);
  EXPECT_EQ((*m)->payload, "a\0b"s);
}

}  // namespace
}  // namespace nimbus::faas
