// libFuzzer target: arbitrary text through every expression parser must never
// crash or hang; whatever parses is evaluated / applied on a fixed item that
// holds every attribute type, with a fixed set of names and values.
#include <boost/json.hpp>

#include <cstdint>
#include <string_view>

#include "services/dynamodb/expression.h"

namespace {

namespace json = boost::json;
namespace ddb = nimbus::services::dynamodb;

const json::object& names() {
  static const json::object n = json::parse(R"({"#a": "a", "#b": "b", "#n": "x.y",
      "#s": "status", "#l": "l", "#m": "m"})")
                                    .as_object();
  return n;
}

const json::object& values() {
  static const json::object v = json::parse(R"({":s": {"S": "ab"}, ":n": {"N": "1.5"},
      ":z": {"N": "-1E-3"}, ":b": {"B": "AQI="}, ":t": {"BOOL": true}, ":null": {"NULL": true},
      ":l": {"L": [{"S": "x"}, {"N": "2"}]}, ":m": {"M": {"k": {"S": "v"}}},
      ":ss": {"SS": ["ab", "cd"]}, ":ns": {"NS": ["1", "2.5"]}, ":bs": {"BS": ["AQ=="]},
      ":type": {"S": "SS"}, ":e": {"L": []}})")
                                    .as_object();
  return v;
}

const json::object& item() {
  static const json::object i = json::parse(R"({"a": {"S": "abc"}, "b": {"N": "10"},
      "c": {"B": "AQID"}, "d": {"BOOL": false}, "e": {"NULL": true},
      "ss": {"SS": ["ab", "x"]}, "ns": {"NS": ["1", "5"]}, "bs": {"BS": ["AQ==", "Ag=="]},
      "l": {"L": [{"N": "1"}, {"L": [{"S": "deep"}]}, {"M": {"k": {"N": "3"}}}]},
      "m": {"M": {"k": {"S": "v"}, "n": {"M": {"x": {"N": "1"}}}, "l": {"L": []}}},
      "x.y": {"S": "dotted"}, "status": {"S": "open"}})")
                                    .as_object();
  return i;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ctx = ddb::ExpressionContext::create(&names(), &values());
  if (!ctx.ok()) return 0;

  if (auto c = ddb::ConditionExpression::parse(text, *ctx); c.ok()) {
    (void)c->evaluate(item());
    (void)c->evaluate(json::object{});
    (void)c->top_level_attributes();
  }
  if (auto f = ddb::ConditionExpression::parse(text, *ctx, "FilterExpression"); f.ok())
    (void)f->evaluate(item());

  const ddb::KeyAttribute hash{"a", ddb::KeyType::kS};
  const ddb::KeyAttribute range{"b", ddb::KeyType::kN};
  if (auto k = ddb::parse_key_condition(text, *ctx, hash, range); k.ok() && k->sort)
    (void)k->sort->matches(item().at("b"));
  (void)ddb::parse_key_condition(text, *ctx, hash, std::nullopt);

  if (auto p = ddb::ProjectionExpression::parse(text, *ctx); p.ok()) (void)p->apply(item());

  if (auto u = ddb::UpdateExpression::parse(text, *ctx); u.ok()) {
    for (bool exists : {true, false}) {
      auto out = u->apply(exists ? item() : json::object{}, exists);
      if (out.ok()) (void)ddb::project(out->item, u->target_paths());
    }
    (void)u->key_update_error(hash, range);
  }
  (void)ctx->check_unused();
  return 0;
}
