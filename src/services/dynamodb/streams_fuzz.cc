// libFuzzer target: what a DynamoDB Streams client sends that Nimbus parses
// itself — shard iterators, stream ARNs, sequence numbers — never crashes,
// and whatever parses round-trips: a decoded iterator encodes back to one
// that decodes to the same position, a parsed sequence number prints as a
// text that parses to the same number.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "services/dynamodb/streams.h"

namespace {

namespace ddb = nimbus::services::dynamodb;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto it = ddb::ShardIterator::decode(in)) {
    auto again = ddb::ShardIterator::decode(it->encode());
    check(again && again->table_id == it->table_id && again->label == it->label &&
          again->next_sequence == it->next_sequence && again->issued_ms == it->issued_ms);
  }
  if (auto n = ddb::parse_stream_arn(in)) check(!n->table.empty() && !n->label.empty());
  if (auto seq = ddb::parse_sequence(in))
    check(ddb::parse_sequence(ddb::sequence_text(*seq)) == seq);
  return 0;
}
