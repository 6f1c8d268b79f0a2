#include "http/message.h"

#include <gtest/gtest.h>

namespace nimbus::http {
namespace {

constexpr std::string_view kDate = "Fri, 27 Nov 2026 10:00:00 GMT";

TEST(ResponseHead, StatusLineHeadersDateAndLength) {
  Response r = Response::json(201, R"({"ok":true})");
  r.headers.add("X-Custom", "a b");
  EXPECT_EQ(response_head(r, true, kDate),
            "HTTP/1.1 201 Created\r\n"
            "Content-Type: application/json\r\n"
            "X-Custom: a b\r\n"
            "Date: Fri, 27 Nov 2026 10:00:00 GMT\r\n"
            "Content-Length: 11\r\n\r\n");
}

TEST(ResponseHead, TheServerOwnsFramingHeaders) {
  // A function's proxy result may carry any header; framing must stay the
  // server's, or the client would read the wrong number of bytes.
  Response r;
  r.body = "hello";
  r.headers.add("Content-Length", "999");
  r.headers.add("transfer-encoding", "chunked");
  r.headers.add("Connection", "keep-alive");
  r.headers.add("Date", "Thu, 01 Jan 2026 00:00:00 GMT");
  EXPECT_EQ(response_head(r, false, kDate),
            "HTTP/1.1 200 OK\r\n"
            "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
            "Content-Length: 5\r\n"
            "Connection: close\r\n\r\n");
}

TEST(ResponseHead, HeadersThatWouldSplitTheResponseAreDropped) {
  Response r;
  r.headers.add("X-Injected", "a\r\nSet-Cookie: evil=1");
  r.headers.add("Bad Name", "v");
  r.headers.add("", "v");
  r.headers.add("X-Nul", std::string("a\0b", 3));
  r.headers.add("X-Fine", "ok");
  std::string head = response_head(r, true, kDate);
  EXPECT_EQ(head.find("evil"), std::string::npos);
  EXPECT_EQ(head.find("Bad Name"), std::string::npos);
  EXPECT_EQ(head.find("X-Nul"), std::string::npos);
  EXPECT_NE(head.find("X-Fine: ok\r\n"), std::string::npos);
}

TEST(ResponseHead, BodilessStatusesHaveNoLengthAndNoBody) {
  for (int status : {204, 304}) {
    Response r;
    r.status = status;
    r.body = "ignored";
    std::string head = response_head(r, true, kDate);
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << status;
    EXPECT_TRUE(r.body.empty()) << status;
  }
}

TEST(ResponseHead, UncommonStatusCodesPassThrough) {
  // API Gateway passes a function's statusCode on even when it has no name.
  Response r;
  r.status = 299;
  EXPECT_TRUE(response_head(r, true, kDate).starts_with("HTTP/1.1 299 Unknown\r\n"));
  r.status = 42;  // not an HTTP status: the server's own failure
  EXPECT_TRUE(response_head(r, true, kDate).starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
}

}  // namespace
}  // namespace nimbus::http
