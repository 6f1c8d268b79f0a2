// What partiql_lex.cc, partiql_parse.cc, partiql_plan_helpers.cc and
// partiql_plan.cc share: the message helpers, UTF-8 and case folding, the
// tokens, and the planner's helpers (questions about the parsed tree, the
// writer of generated expressions). Internal to those files; the interface is
// partiql.h.
//
// Wording of the messages: DynamoDB's own texts as its PartiQL layer defines
// them (DynamoDB Local ships the same message table) and as a public
// conformance suite pinned them against the real service (with positions
// "at <line>:<column>:<length>"). Parse errors carry the detail
// texts the service sends ("Unexpected term", "Unexpected keyword",
// "Unexpected token after expression", ...); a statement the lexer cannot
// read gets the envelope with nothing after the colon, as on DynamoDB.
#pragma once

#include <boost/json.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/api_error.h"
#include "base/result.h"
#include "services/dynamodb/partiql.h"
#include "services/dynamodb/table.h"

namespace nimbus::services::dynamodb::partiql::detail {

// ---------------------------------------------------------------------------
// Messages.

inline constexpr std::string_view kNotWellFormed =
    "Statement wasn't well formed, can't be processed: ";

inline aws::ApiError validation(std::string message) {
  return aws::ApiError::validation(std::move(message));
}
inline aws::ApiError not_well_formed(std::string_view detail) {
  return validation(std::string(kNotWellFormed) + std::string(detail));
}

// ---------------------------------------------------------------------------
// Text (partiql_lex.cc).

// Whether `s` is well-formed UTF-8 (no overlongs, surrogates or values past
// U+10FFFF).
bool valid_utf8(std::string_view s);
// Characters (code points) of well-formed UTF-8.
size_t utf8_length(std::string_view s);
// ASCII case folding.
std::string upper(std::string_view s);
std::string lower(std::string_view s);

// ---------------------------------------------------------------------------
// Lexer.

enum class Tok {
  kEnd,
  kIdentifier,        // text: as written
  kQuotedIdentifier,  // text: unescaped
  kKeyword,           // text: lower case
  kString,            // text: unescaped
  kNumber,            // text: as written
  kQuestion,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kLBrace,
  kRBrace,
  kLBag,
  kRBag,
  kComma,
  kDot,
  kColon,
  kSemicolon,
  kStar,
  kOperator,  // text: = <> != < <= > >= + - / % ||
};

struct Token {
  Tok type = Tok::kEnd;
  std::string text;
  SourceSpan span;
};

bool digit(char c);
// The whole statement as tokens, or nullopt when it cannot be cut into any.
std::optional<std::vector<Token>> lex(std::string_view s);
// "at <line>:<column>:<length>", as DynamoDB points at a token in messages.
std::string position(std::string_view text, SourceSpan span);

// ---------------------------------------------------------------------------
// Planner helpers (partiql_plan_helpers.cc).

bool table_name_ok(std::string_view name);
std::string_view key_type_letter(KeyType t);
// Literals, parameters, lists, maps and bags.
bool is_value_node(const Expr& e);
bool names_attribute(const Expr& e, std::string_view name);
bool references(const Expr& e, std::string_view name);
void conjuncts(const Expr& e, std::vector<const Expr*>& out);
const Expr* equality_value(const Expr& c, std::string_view name);
// attribute_exists, attribute_not_exists, attribute_type, begins_with, contains.
bool condition_function(std::string_view name);
size_t function_arity(std::string_view name);
bool is_boolean(const Expr& e);
// How DynamoDB names the operator of `e` in messages ("AND", "<=", "LIKE").
std::string operator_name(const Expr& e);
std::string column_name(const Path& path);
std::string parenthesized(std::string text);
std::string join(const std::vector<std::string>& parts, std::string_view separator);

// The ExpressionAttributeNames / Values of one planned request: every name
// and value gets a generated placeholder, so no attribute name can collide
// with DynamoDB's reserved words and every entry is used exactly by the
// text written alongside it.
class ExpressionWriter {
 public:
  std::string name(std::string_view attribute) {
    auto it = name_refs_.find(attribute);
    if (it != name_refs_.end()) return it->second;
    std::string ref = "#n" + std::to_string(name_refs_.size());
    name_refs_.emplace(std::string(attribute), ref);
    names_[ref] = attribute;
    return ref;
  }
  std::string value(boost::json::value v) {
    std::string ref = ":v" + std::to_string(values_.size());
    values_[ref] = std::move(v);
    return ref;
  }
  std::string path(const Path& p) {
    std::string out;
    for (const PathElement& step : p) {
      if (const auto* n = std::get_if<std::string>(&step)) {
        if (!out.empty()) out += '.';
        out += name(*n);
      } else {
        out += "[" + std::to_string(std::get<uint32_t>(step)) + "]";
      }
    }
    return out;
  }
  // Adds the maps to the request; DynamoDB refuses them empty.
  void store(boost::json::object& request) const {
    if (!names_.empty()) request["ExpressionAttributeNames"] = names_;
    if (!values_.empty()) request["ExpressionAttributeValues"] = values_;
  }

 private:
  std::map<std::string, std::string, std::less<>> name_refs_;
  boost::json::object names_, values_;
};

Result<void, aws::ApiError> check_expressions(const boost::json::object& request,
                                              const KeySchemaForPlan& key);

}  // namespace nimbus::services::dynamodb::partiql::detail
