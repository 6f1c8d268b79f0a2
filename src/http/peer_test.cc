#include "http/peer.h"

#include <gtest/gtest.h>

namespace nimbus::http {
namespace {

constexpr std::string_view kTable =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n"
    "   0: 0100007F:11D6 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 "
    "1\n"
    "   1: 0100007F:C350 0100007F:11D6 01 00000000:00000000 00:00000000 00000000 20003        0 2 "
    "1\n"
    "   2: 0100007F:11D6 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 3 "
    "1\n";

// The client's socket (local = client port, remote = server port) names the uid.
TEST(PeerUid, FindsTheClientSocketOwner) {
  EXPECT_EQ(find_peer_uid(kTable, 0xC350, 0x11D6), 20003u);
}

TEST(PeerUid, UnknownConnectionsHaveNoOwner) {
  EXPECT_FALSE(find_peer_uid(kTable, 0xC351, 0x11D6).has_value());
  EXPECT_FALSE(find_peer_uid("", 1, 2).has_value());
  EXPECT_FALSE(find_peer_uid("header only", 1, 2).has_value());
}

}  // namespace
}  // namespace nimbus::http
