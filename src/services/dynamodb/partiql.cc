// DynamoDB's PartiQL: lexer, recursive-descent parser into partiql::Statement,
// and the planner that writes one request of an existing operation.
//
// Wording of the messages: DynamoDB's own texts as its PartiQL layer defines
// them (DynamoDB Local ships the same message table) and as a public
// conformance suite pinned them against the real service (with positions
// "at <line>:<column>:<length>"). Parse errors carry the detail
// texts the service sends ("Unexpected term", "Unexpected keyword",
// "Unexpected token after expression", ...); a statement the lexer cannot
// read gets the envelope with nothing after the colon, as on DynamoDB.
#include "services/dynamodb/partiql.h"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <set>
#include <unordered_set>
#include <utility>

#include "services/dynamodb/item.h"
#include "services/dynamodb/number.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;
using partiql::Expr;
using partiql::ExprPtr;
using partiql::Returning;
using partiql::SourceSpan;
using Kind = partiql::Expr::Kind;

namespace {

// ---------------------------------------------------------------------------
// Messages.

constexpr std::string_view kNotWellFormed = "Statement wasn't well formed, can't be processed: ";

aws::ApiError validation(std::string message) {
  return aws::ApiError::validation(std::move(message));
}
aws::ApiError not_well_formed(std::string_view detail) {
  return validation(std::string(kNotWellFormed) + std::string(detail));
}

constexpr std::string_view kIncompleteKey =
    "Where clause does not contain a mandatory equality on all key attributes";
constexpr std::string_view kParameterCount =
    "Number of parameters in request and statement don't match.";
constexpr std::string_view kNotOnIndex = "This operation is not supported on an index";
constexpr std::string_view kUnsupportedWhere =
    "WHERE clause must contain an expression that resolves to a boolean";
constexpr std::string_view kAndOrOperands = "The arguments to AND/OR must be Expressions";
constexpr std::string_view kNotOperand = "The argument to NOT must be a Type or Expression";
constexpr std::string_view kMissingNeedsIs = "MISSING must be compared using IS operator";
constexpr std::string_view kIsOperand =
    "The left hand side argument to IS must be a Variable Reference, Literal, or Path";
constexpr std::string_view kIsInUpdate = "IS operator is not supported in update expressions";
constexpr std::string_view kInOperands =
    "IN operator must have a left hand argument of type Variable Reference and right hand "
    "argument of type Seq with at least one member";
constexpr std::string_view kEmptyBag = "Empty bags are not supported";
constexpr std::string_view kBagTypes =
    "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags";
constexpr std::string_view kStarAndOthers =
    "Other attributes should not be present in the projection when '*' is used.";
constexpr std::string_view kReturningNotInTransaction =
    "RETURNING clause is not supported in ExecuteTransaction.";

aws::ApiError resource_not_found() {
  // The service answers a missing table with 400 (dynamodb_service.cc).
  return aws::ApiError::make(400, "ResourceNotFoundException", "Requested resource not found");
}

// ---------------------------------------------------------------------------
// UTF-8.

// Whether `s` is well-formed UTF-8 (no overlongs, surrogates or values past
// U+10FFFF): statement text ends up in JSON strings and in messages.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // the continuation bytes are missing
    for (size_t k = 1; k <= n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

// Characters (code points) of well-formed UTF-8.
size_t utf8_length(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// ---------------------------------------------------------------------------
// Keywords: PartiQL's reserved words (SQL-92's and PartiQL's own, as the
// reference implementation partiql-lang-kotlin lists them). Unquoted, they are
// not names: `WHERE pad = 'x'` fails on DynamoDB, `WHERE "pad" = 'x'` runs.

const std::unordered_set<std::string_view>& keywords() {
  static const std::unordered_set<std::string_view> k = {
      "absolute", "action", "add", "all", "allocate", "alter", "and", "any", "are", "as", "asc",
      "assertion", "at", "authorization", "avg", "begin", "between", "bit", "bit_length", "by",
      "cascade", "cascaded", "case", "cast", "catalog", "char", "character", "character_length",
      "char_length", "check", "close", "coalesce", "collate", "collation", "column", "commit",
      "connect", "connection", "constraint", "constraints", "continue", "convert", "corresponding",
      "count", "create", "cross", "current", "current_date", "current_time", "current_timestamp",
      "current_user", "cursor", "date", "deallocate", "dec", "decimal", "declare", "default",
      "deferrable", "deferred", "delete", "desc", "describe", "descriptor", "diagnostics",
      "disconnect", "distinct", "domain", "double", "drop", "else", "end", "end-exec", "escape",
      "except", "exception", "exec", "execute", "exists", "external", "extract", "date_add",
      "date_diff", "false", "fetch", "first", "float", "for", "foreign", "found", "from", "full",
      "get", "global", "go", "goto", "grant", "group", "having", "identity", "immediate", "in",
      "indicator", "initially", "inner", "input", "insensitive", "insert", "int", "integer",
      "intersect", "interval", "into", "is", "isolation", "join", "key", "language", "last", "left",
      "level", "like", "local", "lower", "match", "max", "min", "module", "names", "national",
      "natural", "nchar", "next", "no", "not", "null", "nullif", "numeric", "octet_length", "of",
      "on", "only", "open", "option", "or", "order", "outer", "output", "overlaps", "pad",
      "partial", "position", "precision", "prepare", "preserve", "primary", "prior", "privileges",
      "procedure", "public", "read", "real", "references", "relative", "restrict", "revoke",
      "right", "rollback", "rows", "schema", "scroll", "section", "select", "session",
      "session_user", "set", "size", "smallint", "some", "space", "sql", "sqlcode", "sqlerror",
      "sqlstate", "substring", "sum", "system_user", "table", "temporary", "then", "time",
      "timestamp", "to", "transaction", "translate", "translation", "trim", "true", "union",
      "unique", "unknown", "update", "upper", "usage", "user", "using", "value", "values",
      "varchar", "varying", "view", "when", "whenever", "where", "with", "work", "write", "zone",
      // PartiQL's own
      "can_cast", "can_lossless_cast", "missing", "pivot", "unpivot", "limit", "offset", "tuple",
      "remove", "index", "let", "integer2", "int2", "integer4", "int4", "integer8", "int8",
      "bigint", "conflict", "do", "nothing", "returning", "modified", "new", "old", "bool",
      "boolean", "string", "symbol", "clob", "blob", "struct", "list", "sexp", "bag"};
  return k;
}

// Keywords that are function names when a '(' follows.
bool function_keyword(std::string_view k) {
  static constexpr std::array<std::string_view, 17> names = {
      "exists",       "count",       "avg",
      "max",          "min",         "sum",
      "substring",    "char_length", "character_length",
      "octet_length", "bit_length",  "upper",
      "lower",        "size",        "sexp",
      "list",         "bag"};
  return std::find(names.begin(), names.end(), k) != names.end();
}

// The names IS accepts (PartiQL's type names); what DynamoDB can test for
// maps to an attribute_type letter, the rest are refused by name.
bool type_name(std::string_view k) {
  static constexpr std::array<std::string_view, 33> names = {
      "missing", "null",     "boolean",   "bool",     "smallint", "int2",    "integer2",
      "int4",    "integer4", "int8",      "integer8", "bigint",   "int",     "integer",
      "float",   "real",     "double",    "decimal",  "dec",      "numeric", "timestamp",
      "date",    "time",     "character", "char",     "varchar",  "string",  "symbol",
      "clob",    "blob",     "struct",    "tuple",    "list"};
  return std::find(names.begin(), names.end(), k) != names.end() || k == "sexp" || k == "bag" ||
         k == "any";
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}
std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

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

bool ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool ident_char(char c) {
  return ident_start(c) || (c >= '0' && c <= '9');
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}

// A decimal literal's exponent and scale must fit 32-bit integers, as in the
// BigDecimal DynamoDB reads them into; beyond that the service cannot read
// the literal at all ("wasn't well formed" with no detail).
bool number_fits(std::string_view text) {
  size_t e = text.find_first_of("eE");
  std::string_view mantissa = text.substr(0, e);
  size_t dot = mantissa.find('.');
  int64_t fraction_digits =
      dot == std::string_view::npos ? 0 : static_cast<int64_t>(mantissa.size() - dot - 1);
  int64_t exponent = 0;
  if (e != std::string_view::npos) {
    std::string_view exp = text.substr(e + 1);
    bool negative = !exp.empty() && exp[0] == '-';
    if (!exp.empty() && (exp[0] == '-' || exp[0] == '+')) exp.remove_prefix(1);
    while (exp.size() > 1 && exp[0] == '0') exp.remove_prefix(1);
    if (exp.size() > 10) return false;
    int64_t magnitude = 0;
    std::from_chars(exp.data(), exp.data() + exp.size(), magnitude);
    if (magnitude > 2147483647LL + (negative ? 1 : 0)) return false;
    exponent = negative ? -magnitude : magnitude;
  }
  int64_t scale = fraction_digits - exponent;
  return scale >= -2147483648LL && scale <= 2147483647LL;
}

// The whole statement as tokens, or nullopt when it holds something no token
// starts with (an unterminated string or comment, '#', a backtick, ...).
std::optional<std::vector<Token>> lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  auto push = [&](Tok type, std::string text, size_t start) {
    out.push_back(
        Token{type, std::move(text),
              SourceSpan{static_cast<uint32_t>(start), static_cast<uint32_t>(i - start)}});
  };
  while (i < s.size()) {
    char c = s[i];
    size_t start = i;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      ++i;
      continue;
    }
    if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      while (i < s.size() && s[i] != '\n' && s[i] != '\r') ++i;
      continue;
    }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      size_t end = s.find("*/", i + 2);
      if (end == std::string_view::npos) return std::nullopt;
      i = end + 2;
      continue;
    }
    if (c == '\'' || c == '"') {
      // '' inside a string (and "" inside a quoted name) stands for one quote.
      std::string text;
      ++i;
      for (;;) {
        if (i >= s.size()) return std::nullopt;
        if (s[i] == c) {
          if (i + 1 < s.size() && s[i + 1] == c) {
            text.push_back(c);
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        text.push_back(s[i++]);
      }
      push(c == '\'' ? Tok::kString : Tok::kQuotedIdentifier, std::move(text), start);
      continue;
    }
    if (digit(c) || (c == '.' && i + 1 < s.size() && digit(s[i + 1]))) {
      while (i < s.size() && digit(s[i])) ++i;
      if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && digit(s[i])) ++i;
      }
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = i + 1;
        if (e < s.size() && (s[e] == '+' || s[e] == '-')) ++e;
        if (e >= s.size() || !digit(s[e])) return std::nullopt;
        i = e;
        while (i < s.size() && digit(s[i])) ++i;
      }
      std::string text(s.substr(start, i - start));
      if (!number_fits(text)) return std::nullopt;
      push(Tok::kNumber, std::move(text), start);
      continue;
    }
    if (ident_start(c)) {
      while (i < s.size() && ident_char(s[i])) ++i;
      std::string text(s.substr(start, i - start));
      std::string folded = lower(text);
      if (keywords().contains(folded))
        push(Tok::kKeyword, std::move(folded), start);
      else
        push(Tok::kIdentifier, std::move(text), start);
      continue;
    }
    auto two = [&](std::string_view op) { return s.substr(i, 2) == op; };
    if (two("<<")) {
      i += 2;
      push(Tok::kLBag, "<<", start);
      continue;
    }
    if (two(">>")) {
      i += 2;
      push(Tok::kRBag, ">>", start);
      continue;
    }
    if (two("<=") || two(">=") || two("<>") || two("!=") || two("||")) {
      i += 2;
      push(Tok::kOperator, std::string(s.substr(start, 2)), start);
      continue;
    }
    ++i;
    switch (c) {
      case '?':
        push(Tok::kQuestion, "?", start);
        break;
      case '(':
        push(Tok::kLParen, "(", start);
        break;
      case ')':
        push(Tok::kRParen, ")", start);
        break;
      case '[':
        push(Tok::kLBracket, "[", start);
        break;
      case ']':
        push(Tok::kRBracket, "]", start);
        break;
      case '{':
        push(Tok::kLBrace, "{", start);
        break;
      case '}':
        push(Tok::kRBrace, "}", start);
        break;
      case ',':
        push(Tok::kComma, ",", start);
        break;
      case '.':
        push(Tok::kDot, ".", start);
        break;
      case ':':
        push(Tok::kColon, ":", start);
        break;
      case ';':
        push(Tok::kSemicolon, ";", start);
        break;
      case '*':
        push(Tok::kStar, "*", start);
        break;
      case '=':
      case '<':
      case '>':
      case '+':
      case '-':
      case '/':
      case '%':
        push(Tok::kOperator, std::string(1, c), start);
        break;
      default:
        return std::nullopt;
    }
  }
  out.push_back(Token{Tok::kEnd, "", SourceSpan{static_cast<uint32_t>(s.size()), 0}});
  return out;
}

// "at <line>:<column>:<length>", columns and lengths in characters from 1,
// as DynamoDB points at a token in some messages.
std::string position(std::string_view text, SourceSpan span) {
  size_t offset = std::min<size_t>(span.offset, text.size());
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < offset; ++i)
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  size_t column = utf8_length(text.substr(line_start, offset - line_start)) + 1;
  size_t length = utf8_length(text.substr(offset, span.length));
  return "at " + std::to_string(line) + ":" + std::to_string(column) + ":" + std::to_string(length);
}

// ---------------------------------------------------------------------------
// Parser: recursive descent over PartiQL's precedence levels (OR < AND < NOT
// < = <> IS IN < < <= > >= BETWEEN LIKE < + - || < * / % < unary). Every
// failure is recorded once (the first wins) and unwinds as a null node.

std::string returning_text(Returning r) {
  switch (r) {
    case Returning::kAllOld:
      return "ALL OLD *";
    case Returning::kModifiedOld:
      return "MODIFIED OLD *";
    case Returning::kAllNew:
      return "ALL NEW *";
    case Returning::kModifiedNew:
      return "MODIFIED NEW *";
    case Returning::kNone:
      break;
  }
  return "";
}

ExprPtr make_node(Kind kind, SourceSpan span) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->span = span;
  return e;
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens)
      : text_(text), tokens_(std::move(tokens)) {}

  Result<partiql::Statement, aws::ApiError> statement() {
    partiql::Statement st;
    if (at_keyword("select")) {
      partiql::Select s;
      if (select(s)) st.body = std::move(s);
    } else if (at_keyword("insert")) {
      partiql::Insert s;
      if (insert(s)) st.body = std::move(s);
    } else if (at_keyword("update")) {
      partiql::Update s;
      if (update(s)) st.body = std::move(s);
    } else if (at_keyword("from")) {
      partiql::Update s;
      if (from_update(s)) st.body = std::move(s);
    } else if (at_keyword("delete")) {
      partiql::Delete s;
      if (delete_statement(s)) st.body = std::move(s);
    } else if (at_keyword("exists")) {
      partiql::Exists s;
      if (exists(s)) st.body = std::move(s);
    } else if (at(Tok::kEnd) || at(Tok::kSemicolon)) {
      fail(not_well_formed("Unexpected term"));
    } else {
      fail(not_well_formed("Expected data manipulation"));
    }
    if (!error_) {
      accept(Tok::kSemicolon);
      if (!at(Tok::kEnd)) fail(not_well_formed("Unexpected token after expression"));
    }
    if (error_) return nimbus::fail(std::move(*error_));
    st.parameter_count = parameter_count_;
    return st;
  }

 private:
  // ---- tokens

  const Token& peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& next() {
    const Token& t = tokens_[pos_];
    if (t.type != Tok::kEnd) ++pos_;
    return t;
  }
  bool at(Tok t, size_t ahead = 0) const { return peek(ahead).type == t; }
  bool at_keyword(std::string_view k, size_t ahead = 0) const {
    const Token& t = peek(ahead);
    return t.type == Tok::kKeyword && t.text == k;
  }
  bool at_operator(std::string_view op) const {
    return peek().type == Tok::kOperator && peek().text == op;
  }
  bool at_name() const { return at(Tok::kIdentifier) || at(Tok::kQuotedIdentifier); }
  bool accept(Tok t) {
    if (!at(t)) return false;
    next();
    return true;
  }
  bool accept_keyword(std::string_view k) {
    if (!at_keyword(k)) return false;
    next();
    return true;
  }
  // Nothing left where an infix operator needs its right-hand side.
  bool at_statement_end() const { return at(Tok::kEnd) || at(Tok::kSemicolon); }

  std::nullptr_t fail(aws::ApiError e) {
    if (!error_) error_ = std::move(e);
    return nullptr;
  }
  // fail() for the statement-level parts, which answer whether they parsed.
  bool reject(aws::ApiError e) {
    fail(std::move(e));
    return false;
  }
  static aws::ApiError too_deep() {
    return not_well_formed("Expression nesting exceeds the supported depth of " +
                           std::to_string(kMaxPartiqlNesting));
  }

  // Bounds the recursion of the descent itself (parentheses, literals,
  // NOT NOT ..., - - ...), before any node exists.
  class Descent {
   public:
    explicit Descent(Parser& p) : p_(p) { ++p_.depth_; }
    ~Descent() { --p_.depth_; }
    Descent(const Descent&) = delete;
    Descent& operator=(const Descent&) = delete;
    bool too_deep() const { return p_.depth_ > kMaxPartiqlNesting; }

   private:
    Parser& p_;
  };

  // A node whose children are complete: its height, bounded.
  ExprPtr finish(ExprPtr e) {
    int h = 0;
    for (const auto& c : e->children) h = std::max(h, c->height);
    e->height = h + 1;
    if (e->height > kMaxPartiqlNesting) return fail(too_deep());
    return e;
  }
  ExprPtr binary(Kind kind, std::string op, ExprPtr lhs, ExprPtr rhs, bool negated = false) {
    auto e = make_node(kind, lhs->span);
    e->op = std::move(op);
    e->negated = negated;
    e->children.push_back(std::move(lhs));
    e->children.push_back(std::move(rhs));
    return finish(std::move(e));
  }
  // The right-hand side of an infix operator.
  template <class F>
  ExprPtr rhs(F parse) {
    if (at_statement_end())
      return fail(not_well_formed("Missing right-hand side expression of infix operator"));
    return parse();
  }

  // ---- expressions

  ExprPtr expression() {
    Descent d(*this);
    if (d.too_deep()) return fail(too_deep());
    return disjunction();
  }

  ExprPtr chain(Kind kind, std::string_view keyword, ExprPtr (Parser::*operand)()) {
    ExprPtr first = (this->*operand)();
    if (!first || !at_keyword(keyword)) return first;
    auto e = make_node(kind, first->span);
    e->children.push_back(std::move(first));
    while (accept_keyword(keyword)) {
      ExprPtr next_operand = rhs([&] { return (this->*operand)(); });
      if (!next_operand) return nullptr;
      e->children.push_back(std::move(next_operand));
    }
    return finish(std::move(e));
  }
  ExprPtr disjunction() { return chain(Kind::kOr, "or", &Parser::conjunction); }
  ExprPtr conjunction() { return chain(Kind::kAnd, "and", &Parser::negation); }

  ExprPtr negation() {
    if (!at_keyword("not")) return equity();
    SourceSpan span = next().span;
    Descent d(*this);
    if (d.too_deep()) return fail(too_deep());
    ExprPtr operand = negation();
    if (!operand) return nullptr;
    auto e = make_node(Kind::kNot, span);
    e->children.push_back(std::move(operand));
    return finish(std::move(e));
  }

  ExprPtr equity() {
    ExprPtr lhs = comparison();
    while (lhs) {
      if (at_operator("=") || at_operator("<>") || at_operator("!=")) {
        std::string op = next().text == "=" ? "=" : "<>";
        ExprPtr r = rhs([&] { return comparison(); });
        if (!r) return nullptr;
        lhs = binary(Kind::kCompare, op, std::move(lhs), std::move(r));
      } else if (at_keyword("is")) {
        next();
        bool negated = accept_keyword("not");
        std::string type;
        if (accept_keyword("double")) {
          if (!accept_keyword("precision")) return fail(not_well_formed("Expected type name"));
          type = "DOUBLE PRECISION";
        } else if (at_keyword("character") && at_keyword("varying", 1)) {
          next();
          next();
          type = "CHARACTER VARYING";
        } else if (at(Tok::kKeyword) && type_name(peek().text)) {
          type = upper(next().text);
        } else {
          return fail(not_well_formed("Expected type name"));
        }
        auto e = make_node(Kind::kIs, lhs->span);
        e->name = std::move(type);
        e->negated = negated;
        e->children.push_back(std::move(lhs));
        lhs = finish(std::move(e));
      } else if (at_keyword("in") || (at_keyword("not") && at_keyword("in", 1))) {
        bool negated = accept_keyword("not");
        next();
        ExprPtr r = rhs([&] { return comparison(); });
        if (!r) return nullptr;
        lhs = binary(Kind::kIn, "in", std::move(lhs), std::move(r), negated);
      } else {
        break;
      }
    }
    return lhs;
  }

  ExprPtr comparison() {
    ExprPtr lhs = additive();
    while (lhs) {
      if (at_operator("<") || at_operator("<=") || at_operator(">") || at_operator(">=")) {
        std::string op = next().text;
        ExprPtr r = rhs([&] { return additive(); });
        if (!r) return nullptr;
        lhs = binary(Kind::kCompare, op, std::move(lhs), std::move(r));
      } else if (at_keyword("between") || (at_keyword("not") && at_keyword("between", 1))) {
        bool negated = accept_keyword("not");
        next();
        ExprPtr low = rhs([&] { return additive(); });
        if (!low) return nullptr;
        if (!accept_keyword("and")) return fail(not_well_formed("Expected AND"));
        ExprPtr high = rhs([&] { return additive(); });
        if (!high) return nullptr;
        auto e = make_node(Kind::kBetween, lhs->span);
        e->negated = negated;
        e->children.push_back(std::move(lhs));
        e->children.push_back(std::move(low));
        e->children.push_back(std::move(high));
        lhs = finish(std::move(e));
      } else if (at_keyword("like") || (at_keyword("not") && at_keyword("like", 1))) {
        bool negated = accept_keyword("not");
        next();
        ExprPtr r = rhs([&] { return additive(); });
        if (!r) return nullptr;
        lhs = binary(Kind::kCompare, "like", std::move(lhs), std::move(r), negated);
      } else {
        break;
      }
    }
    return lhs;
  }

  ExprPtr additive() {
    ExprPtr lhs = multiplicative();
    while (lhs && (at_operator("+") || at_operator("-") || at_operator("||"))) {
      std::string op = next().text;
      ExprPtr r = rhs([&] { return multiplicative(); });
      if (!r) return nullptr;
      lhs = binary(Kind::kArithmetic, op, std::move(lhs), std::move(r));
    }
    return lhs;
  }

  ExprPtr multiplicative() {
    ExprPtr lhs = unary();
    while (lhs && (at(Tok::kStar) || at_operator("/") || at_operator("%"))) {
      std::string op = next().text;
      ExprPtr r = rhs([&] { return unary(); });
      if (!r) return nullptr;
      lhs = binary(Kind::kArithmetic, op, std::move(lhs), std::move(r));
    }
    return lhs;
  }

  ExprPtr unary() {
    if (!at_operator("-") && !at_operator("+")) return primary();
    const Token& sign = next();
    bool minus = sign.text == "-";
    SourceSpan span = sign.span;
    Descent d(*this);
    if (d.too_deep()) return fail(too_deep());
    ExprPtr operand = unary();
    if (!operand) return nullptr;
    // A signed number is one literal: -5 is the number -5, not 0 - 5.
    if (operand->kind == Kind::kLiteral && operand->literal.as_object().contains("N")) {
      if (minus) {
        json::string& text = operand->literal.as_object()["N"].as_string();
        std::string_view digits = text;
        text = digits.starts_with("-") ? std::string(digits.substr(1)) : "-" + std::string(digits);
      }
      operand->span.length += operand->span.offset - span.offset;
      operand->span.offset = span.offset;
      return operand;
    }
    if (!minus) return operand;
    auto e = make_node(Kind::kNegate, span);
    e->op = "-";
    e->children.push_back(std::move(operand));
    return finish(std::move(e));
  }

  ExprPtr primary() {
    const Token& t = peek();
    switch (t.type) {
      case Tok::kString: {
        auto e = make_node(Kind::kLiteral, t.span);
        e->literal = json::object{{"S", t.text}};
        next();
        return e;
      }
      case Tok::kNumber: {
        auto e = make_node(Kind::kLiteral, t.span);
        e->literal = json::object{{"N", t.text}};
        next();
        return e;
      }
      case Tok::kQuestion: {
        auto e = make_node(Kind::kParameter, t.span);
        e->parameter = parameter_count_++;
        next();
        return e;
      }
      case Tok::kLParen: {
        next();
        ExprPtr e = expression();
        if (!e) return nullptr;
        if (!accept(Tok::kRParen)) return fail(not_well_formed("Expected RIGHT_PAREN"));
        return e;
      }
      case Tok::kLBracket:
        return sequence(Kind::kList, Tok::kRBracket, "Expected RIGHT_BRACKET");
      case Tok::kLBag:
        return sequence(Kind::kBag, Tok::kRBag, "Expected RIGHT_DOUBLE_ANGLE_BRACKET");
      case Tok::kLBrace:
        return tuple();
      case Tok::kIdentifier:
        if (at(Tok::kLParen, 1)) return call();
        return path();
      case Tok::kQuotedIdentifier:
        return path();
      case Tok::kKeyword: {
        if (t.text == "true" || t.text == "false" || t.text == "null") {
          auto e = make_node(Kind::kLiteral, t.span);
          e->literal = t.text == "null" ? json::object{{"NULL", true}}
                                        : json::object{{"BOOL", t.text == "true"}};
          next();
          return e;
        }
        if (t.text == "missing") {
          auto e = make_node(Kind::kMissing, t.span);
          next();
          return e;
        }
        if (function_keyword(t.text) && at(Tok::kLParen, 1)) return call();
        if (t.text == "and" || t.text == "or" || t.text == "is" || t.text == "in" ||
            t.text == "like" || t.text == "between")
          return fail(not_well_formed("Unexpected operator"));
        return fail(not_well_formed("Unexpected keyword"));
      }
      case Tok::kOperator:
        return fail(not_well_formed("Unexpected operator"));
      default:
        return fail(not_well_formed("Unexpected term"));
    }
  }

  // [a, b] or <<a, b>>.
  ExprPtr sequence(Kind kind, Tok close, std::string_view expected) {
    auto e = make_node(kind, next().span);
    if (!accept(close)) {
      for (;;) {
        ExprPtr item = expression();
        if (!item) return nullptr;
        e->children.push_back(std::move(item));
        if (accept(Tok::kComma)) continue;
        if (accept(close)) break;
        return fail(not_well_formed(expected));
      }
    }
    return finish(std::move(e));
  }

  // {'k': v, ...}: keys and values alternate in children.
  ExprPtr tuple() {
    auto e = make_node(Kind::kMap, next().span);
    if (!accept(Tok::kRBrace)) {
      for (;;) {
        ExprPtr key = expression();
        if (!key) return nullptr;
        if (!accept(Tok::kColon)) return fail(not_well_formed("Expected COLON"));
        ExprPtr value = expression();
        if (!value) return nullptr;
        e->children.push_back(std::move(key));
        e->children.push_back(std::move(value));
        if (accept(Tok::kComma)) continue;
        if (accept(Tok::kRBrace)) break;
        return fail(not_well_formed("Expected RIGHT_CURLY"));
      }
    }
    return finish(std::move(e));
  }

  ExprPtr call() {
    const Token& name = next();
    auto e = make_node(Kind::kCall, name.span);
    e->name = lower(name.text);
    next();  // (
    if (!accept(Tok::kRParen)) {
      for (;;) {
        ExprPtr arg = expression();
        if (!arg) return nullptr;
        e->children.push_back(std::move(arg));
        if (accept(Tok::kComma)) continue;
        if (accept(Tok::kRParen)) break;
        return fail(not_well_formed("Expected RIGHT_PAREN"));
      }
    }
    return finish(std::move(e));
  }

  // name(.name | ."name" | [index])*
  ExprPtr path() {
    const Token& first = next();
    auto e = make_node(Kind::kPath, first.span);
    if (first.text.empty()) return fail(validation("Path component cannot be an empty string"));
    e->path.emplace_back(first.text);
    for (;;) {
      if (accept(Tok::kDot)) {
        const Token& t = peek();
        if (t.type == Tok::kStar)
          return fail(validation("Unpivot path component like a.*.b are not supported"));
        if (t.type != Tok::kIdentifier && t.type != Tok::kQuotedIdentifier)
          return fail(not_well_formed("Invalid path dot component"));
        if (t.text.empty()) return fail(validation("Path component cannot be an empty string"));
        e->path.emplace_back(next().text);
      } else if (at(Tok::kLBracket)) {
        next();
        const Token& t = peek();
        if (t.type == Tok::kStar && at(Tok::kRBracket, 1))
          return fail(validation("Wildcard path component like a[*].b are not supported"));
        bool integer = t.type == Tok::kNumber &&
                       std::all_of(t.text.begin(), t.text.end(), [](char c) { return digit(c); });
        if (!integer)
          return fail(validation("Unexpected path component " + position(text_, t.span)));
        uint32_t index = 0;
        auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), index);
        if (ec != std::errc() || end != t.text.data() + t.text.size())
          return fail(
              validation("List index is not within the allowable range; index: [" + t.text + "]"));
        next();
        if (!accept(Tok::kRBracket)) return fail(not_well_formed("Expected RIGHT_BRACKET"));
        e->path.emplace_back(index);
      } else {
        break;
      }
    }
    return e;
  }

  // ---- statements

  // FROM's source: "table" or "table"."index". Reads (`simple` false) take an
  // expression there, writes a plain name; their errors differ accordingly.
  bool source(partiql::Source& src, bool simple) {
    const Token& t = peek();
    if (t.type != Tok::kIdentifier && t.type != Tok::kQuotedIdentifier) {
      if (simple) return reject(not_well_formed("Expected identifier for simple path"));
      return reject(
          not_well_formed(t.type == Tok::kKeyword ? "Unexpected keyword" : "Unexpected term"));
    }
    next();
    src.table = t.text;
    src.span = t.span;
    if (accept(Tok::kDot)) {
      if (!at_name()) return reject(not_well_formed("Invalid path dot component"));
      src.index = next().text;
      if (at(Tok::kDot) || at(Tok::kLBracket))
        return reject(validation("A path may contain at most 2 components in the FROM clause"));
    } else if (at(Tok::kLBracket)) {
      return reject(validation("Unexpected from source"));
    }
    return true;
  }

  bool refuse_alias() {
    if (at_keyword("as") || at_name()) return reject(validation("Aliasing is not supported"));
    return true;
  }

  bool select(partiql::Select& s) {
    next();  // SELECT
    if (at_keyword("value") || at_keyword("pivot"))
      return reject(validation("Select projection doesn't support value or pivot keywords"));
    if (accept(Tok::kStar)) {
      if (at(Tok::kComma)) return reject(validation(std::string(kStarAndOthers)));
    } else {
      for (;;) {
        if (at(Tok::kStar)) return reject(validation(std::string(kStarAndOthers)));
        ExprPtr column = expression();
        if (!column) return false;
        if (!refuse_alias()) return false;
        s.columns.push_back(std::move(column));
        if (!accept(Tok::kComma)) break;
      }
    }
    if (!accept_keyword("from")) return reject(not_well_formed("Expected FROM"));
    if (!source(s.from, false) || !refuse_alias()) return false;
    if (at(Tok::kComma) || at_keyword("join") || at_keyword("inner") || at_keyword("left") ||
        at_keyword("right") || at_keyword("cross") || at_keyword("full") || at_keyword("outer"))
      return reject(validation("Only select from a single table or index is supported."));
    if (accept_keyword("where")) {
      s.where = expression();
      if (!s.where) return false;
    }
    if (accept_keyword("order")) {
      if (!accept_keyword("by")) return reject(not_well_formed("Expected BY"));
      for (;;) {
        partiql::OrderItem item;
        item.key = expression();
        if (!item.key) return false;
        if (accept_keyword("desc"))
          item.descending = true;
        else
          accept_keyword("asc");
        s.order_by.push_back(std::move(item));
        if (!accept(Tok::kComma)) break;
      }
    }
    for (std::string_view clause : {"limit", "offset", "group", "having"})
      if (at_keyword(clause))
        return reject(validation("Unsupported clause: " +
                                 (clause == "group" ? std::string("GROUP BY") : upper(clause))));
    return true;
  }

  bool insert(partiql::Insert& s) {
    constexpr std::string_view kMultiple =
        "Unsupported operation: Inserting multiple items in a single statement is not "
        "supported, use \"INSERT INTO tableName VALUE item\" instead";
    next();  // INSERT
    if (!accept_keyword("into")) return reject(not_well_formed("Expected INTO"));
    if (!source(s.into, true)) return false;
    if (at(Tok::kLBag) || at_keyword("select") || at_keyword("values"))
      return reject(validation(std::string(kMultiple)));
    if (!accept_keyword("value"))
      return reject(not_well_formed("Unexpected token after expression"));
    if (at(Tok::kLBag)) return reject(validation(std::string(kMultiple)));
    s.item = expression();
    if (!s.item) return false;
    if (s.item->kind != Kind::kMap)
      return reject(
          validation("Unsupported format in item expression. Please use struct format "
                     "{...} to express item values for insert statement."));
    if (at_keyword("at")) return reject(validation("AT is not supported in insert statements."));
    if (at_keyword("returning")) return reject(validation("RETURNING is not supported in INSERT"));
    return true;
  }

  // SET path = value, ... and REMOVE path, ..., in any number and order.
  bool actions(std::vector<partiql::UpdateAction>& out) {
    for (;;) {
      if (accept_keyword("set")) {
        do {
          if (!at_name())
            return reject(not_well_formed(
                at(Tok::kKeyword) ? "Unexpected keyword" : "Expected identifier for simple path"));
          partiql::UpdateAction a;
          a.target = path();
          if (!a.target) return false;
          if (!at_operator("=")) return reject(not_well_formed("Expected EQ"));
          next();
          a.value = rhs([&] { return expression(); });
          if (!a.value) return false;
          out.push_back(std::move(a));
        } while (accept(Tok::kComma));
      } else if (accept_keyword("remove")) {
        do {
          if (!at_name())
            return reject(not_well_formed(
                at(Tok::kKeyword) ? "Unexpected keyword" : "Expected identifier for simple path"));
          partiql::UpdateAction a;
          a.kind = partiql::UpdateAction::Kind::kRemove;
          a.target = path();
          if (!a.target) return false;
          out.push_back(std::move(a));
        } while (accept(Tok::kComma));
      } else {
        break;
      }
    }
    if (!out.empty()) return true;
    if (at_keyword("insert") || at_keyword("delete") || at_keyword("add") || at_keyword("set") ||
        (at(Tok::kIdentifier) &&
         (lower(peek().text) == "upsert" || lower(peek().text) == "replace")))
      return reject(
          validation("Only SET and REMOVE are supported in update expressions at this time"));
    return reject(not_well_formed("Expected SET or REMOVE"));
  }

  bool returning(Returning& r) {
    if (!accept_keyword("returning")) return true;
    bool all = accept_keyword("all");
    bool modified = !all && accept_keyword("modified");
    if (!all && !modified) return reject(not_well_formed("Expected MODIFIED or ALL"));
    bool old = accept_keyword("old");
    bool is_new = !old && accept_keyword("new");
    if (!old && !is_new) return reject(not_well_formed("Expected OLD or NEW"));
    if (!accept(Tok::kStar))
      return reject(
          validation("Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause"));
    if (at(Tok::kComma))
      return reject(
          validation("Invalid syntax with multiple returning elements in RETURNING "
                     "clause"));
    r = all ? (old ? Returning::kAllOld : Returning::kAllNew)
            : (old ? Returning::kModifiedOld : Returning::kModifiedNew);
    return true;
  }

  bool update(partiql::Update& s) {
    next();  // UPDATE
    if (!source(s.table, true) || !refuse_alias() || !actions(s.actions)) return false;
    if (accept_keyword("where")) {
      s.where = expression();
      if (!s.where) return false;
    }
    return returning(s.returning);
  }

  // PartiQL's FROM-first update: FROM "t" WHERE ... SET ... .
  bool from_update(partiql::Update& s) {
    next();  // FROM
    if (!source(s.table, true) || !refuse_alias()) return false;
    if (accept_keyword("where")) {
      s.where = expression();
      if (!s.where) return false;
    }
    return actions(s.actions) && returning(s.returning);
  }

  bool delete_statement(partiql::Delete& s) {
    next();  // DELETE
    if (!accept_keyword("from")) return reject(not_well_formed("Expected FROM"));
    if (!source(s.from, true) || !refuse_alias()) return false;
    if (accept_keyword("where")) {
      s.where = expression();
      if (!s.where) return false;
    }
    if (!returning(s.returning)) return false;
    if (s.returning != Returning::kNone && s.returning != Returning::kAllOld)
      return reject(validation("Invalid returning clause: RETURNING " +
                               returning_text(s.returning) +
                               ". Only RETURNING ALL OLD * is allowed in DELETE statements."));
    return true;
  }

  bool exists(partiql::Exists& s) {
    next();  // EXISTS
    if (!accept(Tok::kLParen)) return reject(not_well_formed("Expected LEFT_PAREN"));
    if (!at_keyword("select")) return reject(not_well_formed("Expected SELECT"));
    if (!select(s.select)) return false;
    if (!accept(Tok::kRParen)) return reject(not_well_formed("Expected RIGHT_PAREN"));
    return true;
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  size_t parameter_count_ = 0;
  std::optional<aws::ApiError> error_;
};

// ---------------------------------------------------------------------------
// Planner helpers.

// DynamoDB's table name rule (table.h's valid_table_name), restated here so
// that the parsers' fuzz build, which leaves table.cc out, can link this.
bool table_name_ok(std::string_view name) {
  if (name.size() < 3 || name.size() > 255) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || digit(c) || c == '_' || c == '-' ||
           c == '.';
  });
}

std::string_view key_type_letter(KeyType t) {
  switch (t) {
    case KeyType::kS:
      return "S";
    case KeyType::kN:
      return "N";
    case KeyType::kB:
      return "B";
  }
  return "";
}

bool is_value_node(const Expr& e) {
  return e.kind == Kind::kLiteral || e.kind == Kind::kParameter || e.kind == Kind::kList ||
         e.kind == Kind::kMap || e.kind == Kind::kBag;
}

// A one-step path naming `name`.
bool names_attribute(const Expr& e, std::string_view name) {
  return e.kind == Kind::kPath && e.path.size() == 1 &&
         std::holds_alternative<std::string>(e.path[0]) && std::get<std::string>(e.path[0]) == name;
}

// Whether anything in `e` reads attribute `name` (at any depth of a path
// that starts there).
bool references(const Expr& e, std::string_view name) {
  if (e.kind == Kind::kPath)
    return !e.path.empty() && std::holds_alternative<std::string>(e.path[0]) &&
           std::get<std::string>(e.path[0]) == name;
  return std::any_of(e.children.begin(), e.children.end(),
                     [&](const ExprPtr& c) { return references(*c, name); });
}

// The operands of the top-level AND (the whole condition when there is none).
void conjuncts(const Expr& e, std::vector<const Expr*>& out) {
  if (e.kind == Kind::kAnd) {
    for (const auto& c : e.children) conjuncts(*c, out);
    return;
  }
  out.push_back(&e);
}

// `name` = value (either way round): the value.
const Expr* equality_value(const Expr& c, std::string_view name) {
  if (c.kind != Kind::kCompare || c.op != "=") return nullptr;
  const Expr& l = *c.children[0];
  const Expr& r = *c.children[1];
  if (names_attribute(l, name) && is_value_node(r)) return &r;
  if (names_attribute(r, name) && is_value_node(l)) return &l;
  return nullptr;
}

constexpr std::array<std::string_view, 5> kConditionFunctions = {
    "attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains"};

bool condition_function(std::string_view name) {
  return std::find(kConditionFunctions.begin(), kConditionFunctions.end(), name) !=
         kConditionFunctions.end();
}

size_t function_arity(std::string_view name) {
  if (name == "attribute_exists" || name == "attribute_not_exists" || name == "size") return 1;
  return 2;
}

// Nodes that are conditions (true or false), as AND, OR, NOT and WHERE need.
bool is_boolean(const Expr& e) {
  switch (e.kind) {
    case Kind::kAnd:
    case Kind::kOr:
    case Kind::kNot:
    case Kind::kCompare:
    case Kind::kBetween:
    case Kind::kIn:
    case Kind::kIs:
      return true;
    case Kind::kCall:
      return condition_function(e.name);
    default:
      return false;
  }
}

std::string operator_name(const Expr& e) {
  switch (e.kind) {
    case Kind::kAnd:
      return "AND";
    case Kind::kOr:
      return "OR";
    case Kind::kNot:
      return "NOT";
    case Kind::kBetween:
      return "BETWEEN";
    case Kind::kIn:
      return "IN";
    case Kind::kIs:
      return "IS";
    case Kind::kMissing:
      return "MISSING";
    case Kind::kCompare:
    case Kind::kArithmetic:
    case Kind::kNegate:
      return e.op == "like" ? "LIKE" : e.op;
    default:
      return "UNKNOWN";
  }
}

// The name DynamoDB gives a projected path: its last attribute name and any
// list indexes after it.
std::string column_name(const Path& path) {
  size_t last = 0;
  for (size_t i = 0; i < path.size(); ++i)
    if (std::holds_alternative<std::string>(path[i])) last = i;
  std::string name = std::get<std::string>(path[last]);
  for (size_t i = last + 1; i < path.size(); ++i)
    name += "[" + std::to_string(std::get<uint32_t>(path[i])) + "]";
  return name;
}

// Whether `text` is one parenthesised whole, "(...)". Placeholders hold no
// parentheses, so counting them is exact.
bool enclosed(std::string_view text) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') return false;
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    depth += text[i] == '(' ? 1 : text[i] == ')' ? -1 : 0;
    if (depth == 0 && i + 1 < text.size()) return false;
  }
  return true;
}

// DynamoDB refuses "((...))" as redundant parentheses.
std::string parenthesized(std::string text) {
  return enclosed(text) ? text : "(" + text + ")";
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += separator;
    out += parts[i];
  }
  return out;
}

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
  std::string value(json::value v) {
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
  void store(json::object& request) const {
    if (!names_.empty()) request["ExpressionAttributeNames"] = names_;
    if (!values_.empty()) request["ExpressionAttributeValues"] = values_;
  }

 private:
  std::map<std::string, std::string, std::less<>> name_refs_;
  json::object names_, values_;
};

// The expression parsers' messages carry an "Invalid <Parameter>: " prefix
// that names the API parameter; PartiQL has none, and DynamoDB's PartiQL
// messages are the bare texts ("Operator or function requires a document
// path; operator or function: attribute_exists").
std::string without_parameter_prefix(std::string message) {
  for (std::string_view kind : {"ConditionExpression", "FilterExpression", "UpdateExpression",
                                "ProjectionExpression", "KeyConditionExpression"}) {
    std::string prefix = "Invalid " + std::string(kind) + ": ";
    if (message.starts_with(prefix)) return message.substr(prefix.size());
  }
  return message;
}

// Parses every expression of a planned request exactly as the service will,
// so that what DynamoDB refuses about the translated statement is refused at
// planning time, with its text.
Result<void, aws::ApiError> check_expressions(const json::object& request,
                                              const KeySchemaForPlan& key) {
  auto object_member = [&](std::string_view k) -> const json::object* {
    auto* v = request.if_contains(k);
    return v && v->is_object() ? &v->get_object() : nullptr;
  };
  auto text = [&](std::string_view k) -> std::optional<std::string_view> {
    auto* v = request.if_contains(k);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string_view(v->get_string());
  };
  auto refused = [](std::string message) {
    return aws::ApiError::validation(without_parameter_prefix(std::move(message)));
  };
  auto ctx = ExpressionContext::create(object_member("ExpressionAttributeNames"),
                                       object_member("ExpressionAttributeValues"));
  if (!ctx) return fail(refused(ctx.error()));
  if (auto t = text("KeyConditionExpression"))
    if (auto r = parse_key_condition(*t, *ctx, key.hash, key.range); !r)
      return fail(refused(r.error()));
  if (auto t = text("FilterExpression"))
    if (auto r = ConditionExpression::parse(*t, *ctx, "FilterExpression"); !r)
      return fail(refused(r.error()));
  if (auto t = text("ConditionExpression"))
    if (auto r = ConditionExpression::parse(*t, *ctx, "ConditionExpression"); !r)
      return fail(refused(r.error()));
  if (auto t = text("ProjectionExpression"))
    if (auto r = ProjectionExpression::parse(*t, *ctx); !r) return fail(refused(r.error()));
  if (auto t = text("UpdateExpression")) {
    auto r = UpdateExpression::parse(*t, *ctx);
    if (!r) return fail(refused(r.error()));
    if (auto e = r->key_update_error(key.hash, key.range)) return fail(refused(*e));
  }
  if (auto r = ctx->check_unused(); !r) return fail(refused(r.error()));
  return {};
}

// ---------------------------------------------------------------------------
// Planner.

class Planner {
 public:
  Planner(std::string_view text, const KeySchemaLookup& lookup, PartiqlCaller caller,
          std::vector<json::value> parameters)
      : text_(text), lookup_(lookup), caller_(caller), parameters_(std::move(parameters)) {}

  Result<PartiqlPlan, aws::ApiError> plan(const partiql::Statement& st) {
    return std::visit(
        [&](const auto& body) -> Result<PartiqlPlan, aws::ApiError> { return plan_body(body); },
        st.body);
  }

 private:
  using Text = Result<std::string, aws::ApiError>;

  // ---- tables

  Result<KeySchemaForPlan, aws::ApiError> source_key(const partiql::Source& src,
                                                     std::string_view index_refusal) {
    if (!table_name_ok(src.table))
      return fail(validation(
          "Table name should be within the length [3, 255] and only contain 'a-z', 'A-Z', "
          "'0-9', '-', '_', '.'."));
    auto table = lookup_ ? lookup_(src.table, "") : std::nullopt;
    if (!table) return fail(resource_not_found());
    if (src.index.empty()) return std::move(*table);
    if (!index_refusal.empty()) return fail(validation(std::string(index_refusal)));
    auto index = lookup_(src.table, src.index);
    if (!index)
      return fail(validation("The table does not have the specified index: " + src.index));
    return std::move(*index);
  }

  // ---- values

  aws::ApiError unsupported_value(const Expr& e, const std::string& where) {
    std::string what = e.kind == Kind::kCall      ? e.name
                       : e.kind == Kind::kMissing ? "MISSING"
                       : e.kind == Kind::kPath    ? path_to_string(e.path)
                                                  : operator_name(e);
    return validation("Unsupported data type: " + what + " under key " + where + " " +
                      position(text_, e.span));
  }

  // A literal, parameter, list, map or set as an attribute value; `where`
  // names its place for messages as DynamoDB does ("root", "root.x",
  // "root[1]").
  Result<json::value, aws::ApiError> literal_value(const Expr& e, const std::string& where) {
    switch (e.kind) {
      case Kind::kLiteral: {
        const json::object& o = e.literal.get_object();
        if (!o.contains("N")) return e.literal;
        auto n = Number::parse(std::string_view(o.at("N").get_string()));
        if (!n) return fail(validation(n.error() + " under " + where));
        return json::value(json::object{{"N", n->to_string()}});
      }
      case Kind::kParameter:
        return parameters_.at(e.parameter);
      case Kind::kList: {
        json::array out;
        for (size_t i = 0; i < e.children.size(); ++i) {
          auto v = literal_value(*e.children[i], where + "[" + std::to_string(i) + "]");
          if (!v) return v;
          out.push_back(std::move(*v));
        }
        return json::value(json::object{{"L", std::move(out)}});
      }
      case Kind::kMap: {
        auto m = tuple(e, where);
        if (!m) return fail(m.take_error());
        return json::value(json::object{{"M", std::move(*m)}});
      }
      case Kind::kBag: {
        if (e.children.empty()) return fail(validation(std::string(kEmptyBag)));
        std::string_view set_type;
        json::array members;
        for (const auto& c : e.children) {
          if (c->kind != Kind::kLiteral) return fail(validation(std::string(kBagTypes)));
          const json::object& o = c->literal.get_object();
          std::string_view member = o.contains("S") ? "SS" : o.contains("N") ? "NS" : "";
          if (member.empty() || (!set_type.empty() && member != set_type))
            return fail(validation(std::string(kBagTypes)));
          set_type = member;
          auto v = literal_value(*c, where);
          if (!v) return v;
          members.push_back(v->get_object().begin()->value());
        }
        return json::value(json::object{{set_type, std::move(members)}});
      }
      default:
        return fail(unsupported_value(e, where));
    }
  }

  // {'k': v, ...} as an attribute map.
  Result<json::object, aws::ApiError> tuple(const Expr& e, const std::string& where) {
    json::object out;
    for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
      const Expr& k = *e.children[i];
      if (k.kind != Kind::kLiteral || !k.literal.get_object().contains("S")) {
        std::string type = k.kind == Kind::kLiteral
                               ? std::string(k.literal.get_object().begin()->key())
                               : operator_name(k);
        return fail(validation("Tuple keys must be of type String. Actual type: " + type +
                               " under " + where));
      }
      std::string key(k.literal.get_object().at("S").get_string());
      if (out.contains(key))
        return fail(validation("Duplicate keys in tuple. Key: " + key + " under " + where));
      auto v = literal_value(*e.children[i + 1], where + "." + key);
      if (!v) return fail(v.take_error());
      out[key] = std::move(*v);
    }
    return out;
  }

  // A value as the service will hold it (numbers canonical, sets checked for
  // duplicates with DynamoDB's texts).
  Result<json::value, aws::ApiError> value(const Expr& e) {
    auto v = literal_value(e, "root");
    if (!v) return v;
    if (auto r = normalize_value(*v); !r) return fail(r.take_error());
    return v;
  }

  Result<json::value, aws::ApiError> key_value(const Expr& e, const KeyAttribute& key) {
    auto v = value(e);
    if (!v) return v;
    if (type_of(*v) != key_type_letter(key.type))
      return fail(validation(
          "Key attribute's data type should match its data type in table's schema: Key " +
          key.name));
    return v;
  }

  // ---- conditions

  aws::ApiError unrecognized_function(const Expr& e) {
    return validation("Unrecognized function: " + e.name + " " + position(text_, e.span));
  }
  static aws::ApiError operand_count(const Expr& e) {
    return validation(
        "Incorrect number of operands for operator or function; operator or function: " + e.name +
        ", number of operands: " + std::to_string(e.children.size()));
  }

  Text operand(const Expr& e, ExpressionWriter& w) {
    switch (e.kind) {
      case Kind::kPath:
        return w.path(e.path);
      case Kind::kLiteral:
      case Kind::kParameter:
      case Kind::kList:
      case Kind::kMap:
      case Kind::kBag: {
        auto v = value(e);
        if (!v) return fail(v.take_error());
        return w.value(std::move(*v));
      }
      case Kind::kMissing:
        return fail(validation(std::string(kMissingNeedsIs)));
      case Kind::kCall: {
        if (e.name == "size") {
          if (e.children.size() != 1) return fail(operand_count(e));
          auto arg = operand(*e.children[0], w);
          if (!arg) return arg;
          return "size(" + *arg + ")";
        }
        if (condition_function(e.name)) return function_condition(e, w);
        return fail(unrecognized_function(e));
      }
      default:
        return fail(validation("Unsupported operator in Condition Expression. Operator: " +
                               operator_name(e)));
    }
  }

  Text function_condition(const Expr& e, ExpressionWriter& w) {
    if (!condition_function(e.name) && e.name != "size") return fail(unrecognized_function(e));
    if (e.children.size() != function_arity(e.name)) return fail(operand_count(e));
    std::vector<std::string> args;
    for (const auto& c : e.children) {
      auto a = operand(*c, w);
      if (!a) return a;
      args.push_back(std::move(*a));
    }
    return e.name + "(" + join(args, ", ") + ")";
  }

  Text is_condition(const Expr& e, ExpressionWriter& w) {
    const Expr& subject = *e.children[0];
    if (subject.kind != Kind::kPath) return fail(validation(std::string(kIsOperand)));
    std::string path = w.path(subject.path);
    if (e.name == "MISSING")
      return std::string(e.negated ? "attribute_exists(" : "attribute_not_exists(") + path + ")";
    std::string_view letter = e.name == "NULL"                          ? "NULL"
                              : e.name == "BOOLEAN" || e.name == "BOOL" ? "BOOL"
                              : e.name == "STRING"                      ? "S"
                              : e.name == "NUMERIC"                     ? "N"
                              : e.name == "BLOB"                        ? "B"
                              : e.name == "STRUCT" || e.name == "TUPLE" ? "M"
                              : e.name == "LIST"                        ? "L"
                                                                        : "";
    if (letter.empty())
      return fail(validation("Unsupported data type for IS operator: " + e.name +
                             ". Supported data types are [MISSING, NULL, BOOLEAN, BLOB, STRING, "
                             "NUMERIC, STRUCT, TUPLE, LIST]"));
    std::string test = "attribute_type(" + path + ", " + w.value(json::object{{"S", letter}}) + ")";
    return e.negated ? "(NOT " + test + ")" : test;
  }

  // `e` where a condition must be: an unknown function is named first, as
  // DynamoDB does, then `message` for anything that is no condition.
  std::optional<aws::ApiError> not_a_condition(const Expr& e, std::string_view message) {
    if (e.kind == Kind::kCall && !condition_function(e.name) && e.name != "size")
      return unrecognized_function(e);
    if (!is_boolean(e)) return validation(std::string(message));
    return std::nullopt;
  }

  // A boolean node as ConditionExpression / FilterExpression text.
  Text condition(const Expr& e, ExpressionWriter& w) {
    switch (e.kind) {
      case Kind::kAnd:
      case Kind::kOr: {
        std::vector<std::string> parts;
        for (const auto& c : e.children) {
          if (auto refused = not_a_condition(*c, kAndOrOperands)) return fail(std::move(*refused));
          auto t = condition(*c, w);
          if (!t) return t;
          parts.push_back(std::move(*t));
        }
        return "(" + join(parts, e.kind == Kind::kAnd ? " AND " : " OR ") + ")";
      }
      case Kind::kNot: {
        if (auto refused = not_a_condition(*e.children[0], kNotOperand))
          return fail(std::move(*refused));
        auto t = condition(*e.children[0], w);
        if (!t) return t;
        return "(NOT " + *t + ")";
      }
      case Kind::kCompare: {
        if (e.op == "like")
          return fail(validation("Unsupported operator in Condition Expression. Operator: LIKE"));
        auto l = operand(*e.children[0], w);
        if (!l) return l;
        auto r = operand(*e.children[1], w);
        if (!r) return r;
        return "(" + *l + " " + e.op + " " + *r + ")";
      }
      case Kind::kBetween: {
        std::vector<std::string> ops;
        for (const auto& c : e.children) {
          auto t = operand(*c, w);
          if (!t) return t;
          ops.push_back(std::move(*t));
        }
        std::string t = "(" + ops[0] + " BETWEEN " + ops[1] + " AND " + ops[2] + ")";
        return e.negated ? "(NOT " + t + ")" : t;
      }
      case Kind::kIn: {
        const Expr& subject = *e.children[0];
        const Expr& list = *e.children[1];
        if (subject.kind != Kind::kPath || (list.kind != Kind::kList && list.kind != Kind::kBag) ||
            list.children.empty())
          return fail(validation(std::string(kInOperands)));
        auto s = operand(subject, w);
        if (!s) return s;
        std::vector<std::string> items;
        for (const auto& c : list.children) {
          auto t = operand(*c, w);
          if (!t) return t;
          items.push_back(std::move(*t));
        }
        std::string t = "(" + *s + " IN (" + join(items, ", ") + "))";
        return e.negated ? "(NOT " + t + ")" : t;
      }
      case Kind::kIs:
        return is_condition(e, w);
      case Kind::kCall:
        return function_condition(e, w);
      default:
        return fail(validation(std::string(kUnsupportedWhere)));
    }
  }

  // Conditions ANDed; `non_condition` is the refusal of a part that is no
  // condition (the whole WHERE's, or an AND operand's).
  Text conditions(const std::vector<const Expr*>& parts, ExpressionWriter& w,
                  std::string_view non_condition = kAndOrOperands) {
    std::vector<std::string> out;
    for (const Expr* c : parts) {
      if (auto refused = not_a_condition(*c, non_condition)) return fail(std::move(*refused));
      auto t = condition(*c, w);
      if (!t) return t;
      out.push_back(std::move(*t));
    }
    return join(out, " AND ");
  }

  // ---- updates

  Text update_operand(const Expr& e, ExpressionWriter& w) {
    switch (e.kind) {
      case Kind::kPath:
        return w.path(e.path);
      case Kind::kLiteral:
      case Kind::kParameter:
      case Kind::kList:
      case Kind::kMap:
      case Kind::kBag: {
        auto v = value(e);
        if (!v) return fail(v.take_error());
        return w.value(std::move(*v));
      }
      case Kind::kArithmetic: {
        if (e.op != "+" && e.op != "-") break;
        auto l = update_operand(*e.children[0], w);
        if (!l) return l;
        auto r = update_operand(*e.children[1], w);
        if (!r) return r;
        return *l + " " + e.op + " " + *r;
      }
      case Kind::kCall: {
        if (e.name != "list_append") return fail(unrecognized_function(e));
        if (e.children.size() != 2) return fail(operand_count(e));
        auto a = update_operand(*e.children[0], w);
        if (!a) return a;
        auto b = update_operand(*e.children[1], w);
        if (!b) return b;
        return "list_append(" + *a + ", " + *b + ")";
      }
      case Kind::kIs:
        return fail(validation(std::string(kIsInUpdate)));
      default:
        break;
    }
    return fail(
        validation("Unsupported operator in Update Expression. Operator: " + operator_name(e)));
  }

  struct UpdateClauses {
    std::vector<std::string> set, remove, add, del;
    std::string text() const {
      std::string out;
      auto section = [&](std::string_view keyword, const std::vector<std::string>& parts) {
        if (parts.empty()) return;
        if (!out.empty()) out += ' ';
        out += std::string(keyword) + " " + join(parts, ", ");
      };
      section("SET", set);
      section("REMOVE", remove);
      section("ADD", add);
      section("DELETE", del);
      return out;
    }
  };

  // set_add(path, <<..>>) / set_delete(path, <<..>>) assigned to that path:
  // UpdateExpression's ADD / DELETE of set members.
  Result<std::string, aws::ApiError> set_member_action(const Expr& target, const Expr& call,
                                                       ExpressionWriter& w) {
    std::string fn = upper(call.name);
    if (call.children.size() != 2)
      return fail(
          validation(fn + " must have exactly two arguments " + position(text_, call.span)));
    const Expr& first = *call.children[0];
    if (first.kind != Kind::kPath || first.path != target.path)
      return fail(validation("The first argument to " + fn + " must equal the assignment value " +
                             position(text_, call.span)));
    const Expr& members = *call.children[1];
    std::string wrong_type = "The second argument to " + fn + " must be a value with type SET " +
                             position(text_, first.span);
    if (members.kind != Kind::kBag && members.kind != Kind::kParameter)
      return fail(validation(wrong_type));
    auto v = value(members);
    if (!v) return fail(v.take_error());
    std::string_view t = type_of(*v);
    if (t != "SS" && t != "NS" && t != "BS") return fail(validation(wrong_type));
    return w.path(target.path) + " " + w.value(std::move(*v));
  }

  // ---- keys

  struct ItemKey {
    json::object key;
    std::vector<const Expr*> rest;  // the other conditions
  };

  // The full primary key from equalities of a write's WHERE.
  Result<ItemKey, aws::ApiError> item_key(const Expr* where, const KeySchemaForPlan& k) {
    if (!where) return fail(validation(std::string(kIncompleteKey)));
    std::vector<const Expr*> parts;
    conjuncts(*where, parts);
    ItemKey out;
    const Expr* hash_value = nullptr;
    const Expr* range_value = nullptr;
    int hash_terms = 0, range_terms = 0;
    for (const Expr* c : parts) {
      if (const Expr* v = equality_value(*c, k.hash.name)) {
        if (hash_terms++ == 0) hash_value = v;
      } else if (k.range && (v = equality_value(*c, k.range->name))) {
        if (range_terms++ == 0) range_value = v;
      } else {
        out.rest.push_back(c);
      }
    }
    if (!hash_value || (k.range && !range_value))
      return fail(validation(std::string(kIncompleteKey)));
    auto multiple = [](const std::string& name) {
      return validation("Multiple conditions on same key " + name +
                        ". Only single item Update/Insert/Delete are supported");
    };
    if (hash_terms > 1) return fail(multiple(k.hash.name));
    if (range_terms > 1) return fail(multiple(k.range->name));
    auto h = key_value(*hash_value, k.hash);
    if (!h) return fail(h.take_error());
    out.key[k.hash.name] = std::move(*h);
    if (k.range) {
      auto r = key_value(*range_value, *k.range);
      if (!r) return fail(r.take_error());
      out.key[k.range->name] = std::move(*r);
    }
    return out;
  }

  // A sort key condition KeyConditionExpression can hold.
  struct RangeTerm {
    std::string op;  // = < <= > >= between begins_with
    const Expr* first = nullptr;
    const Expr* second = nullptr;  // BETWEEN's upper bound
  };

  static std::optional<RangeTerm> range_term(const Expr& c, std::string_view name) {
    if (c.kind == Kind::kCompare && c.op != "<>" && c.op != "like") {
      const Expr& l = *c.children[0];
      const Expr& r = *c.children[1];
      if (names_attribute(l, name) && is_value_node(r)) return RangeTerm{c.op, &r};
      if (names_attribute(r, name) && is_value_node(l)) {
        // v < sk is sk > v.
        std::string flipped = c.op == "<"    ? ">"
                              : c.op == "<=" ? ">="
                              : c.op == ">"  ? "<"
                              : c.op == ">=" ? "<="
                                             : c.op;
        return RangeTerm{flipped, &l};
      }
    }
    if (c.kind == Kind::kBetween && !c.negated && names_attribute(*c.children[0], name) &&
        is_value_node(*c.children[1]) && is_value_node(*c.children[2]))
      return RangeTerm{"between", c.children[1].get(), c.children[2].get()};
    if (c.kind == Kind::kCall && c.name == "begins_with" && c.children.size() == 2 &&
        names_attribute(*c.children[0], name) && is_value_node(*c.children[1]))
      return RangeTerm{"begins_with", c.children[1].get()};
    return std::nullopt;
  }

  // ---- statements

  Result<PartiqlPlan, aws::ApiError> plan_body(const partiql::Select& s) {
    auto schema = source_key(s.from, "");
    if (!schema) return fail(schema.take_error());
    const KeySchemaForPlan& key = *schema;
    const bool on_index = !s.from.index.empty();
    if (on_index && caller_ == PartiqlCaller::kExecuteTransaction)
      return fail(validation("Reads on indices are not supported within transactions."));

    PartiqlPlan plan;
    plan.is_read = true;
    plan.table = s.from.table;
    ExpressionWriter w;

    // Columns; the read projects the top-level attributes they start with.
    std::set<std::string> column_names;
    std::vector<std::string> projected;
    std::set<std::string> projected_seen;
    for (const auto& c : s.columns) {
      if (c->kind != Kind::kPath)
        return fail(validation("Unexpected path component " + position(text_, c->span)));
      std::string name = column_name(c->path);
      if (!column_names.insert(name).second)
        return fail(validation("Duplicate identifiers in select clause: " + name));
      plan.columns.push_back(PartiqlColumn{name, c->path});
      const std::string& top = std::get<std::string>(c->path[0]);
      if (projected_seen.insert(top).second) projected.push_back(top);
    }

    // Which conditions pin the key.
    std::vector<const Expr*> parts;
    if (s.where) conjuncts(*s.where, parts);
    std::vector<const Expr*> hash_terms;
    std::vector<std::pair<const Expr*, RangeTerm>> range_terms;
    std::vector<const Expr*> others;
    bool others_read_key = false;
    for (const Expr* c : parts) {
      if (equality_value(*c, key.hash.name)) {
        hash_terms.push_back(c);
        continue;
      }
      if (key.range)
        if (auto r = range_term(*c, key.range->name)) {
          range_terms.emplace_back(c, std::move(*r));
          continue;
        }
      others.push_back(c);
      if (references(*c, key.hash.name) || (key.range && references(*c, key.range->name)))
        others_read_key = true;
    }
    const bool full_key = !on_index && hash_terms.size() == 1 && others.empty() &&
                          (key.range ? range_terms.size() == 1 && range_terms[0].second.op == "="
                                     : range_terms.empty());
    if (caller_ == PartiqlCaller::kExecuteTransaction && !full_key)
      return fail(validation(
          "Select statements within ExecuteTransaction must specify the primary key in the where "
          "clause."));
    if (caller_ == PartiqlCaller::kBatchExecuteStatement && !full_key)
      return fail(validation(
          "Select statements within BatchExecuteStatement must specify the primary key in the "
          "where clause."));
    const bool query = hash_terms.size() == 1 && range_terms.size() <= 1 && !others_read_key;

    // ORDER BY: the key of what is read, and only where one partition is.
    bool descending = false;
    for (const auto& item : s.order_by) {
      const Expr& k = *item.key;
      if (k.kind != Kind::kPath || k.path.size() != 1) {
        std::string type = k.kind == Kind::kPath      ? "Path"
                           : k.kind == Kind::kLiteral ? "Lit"
                           : k.kind == Kind::kCall    ? "Call"
                                                      : "NAry";
        return fail(
            validation("Argument to ORDER BY must be of type VariableReference. Type: " + type));
      }
      const std::string& name = std::get<std::string>(k.path[0]);
      if (name != key.hash.name && !(key.range && name == key.range->name))
        return fail(validation("Variable reference " + name +
                               " in ORDER BY clause must be part of the primary key"));
      if (key.range && name == key.range->name) descending = item.descending;
    }
    if (!s.order_by.empty()) {
      if (!s.where)
        return fail(
            validation("Must have WHERE clause in the statement when using ORDER BY clause."));
      if (hash_terms.empty())
        return fail(validation(
            "Must have at least one non-optional hash key condition in WHERE clause when using "
            "ORDER BY clause."));
      if (!query && descending)
        return fail(validation(
            "Nimbus does not support ORDER BY ... DESC with these sort key conditions yet "
            "(docs/COMPATIBILITY.md)"));
    }

    json::object& req = plan.request;
    req["TableName"] = s.from.table;
    if (on_index) req["IndexName"] = s.from.index;
    if (full_key && (s.order_by.empty() || caller_ != PartiqlCaller::kExecuteStatement)) {
      plan.operation = "GetItem";
      auto h = key_value(*equality_value(*hash_terms[0], key.hash.name), key.hash);
      if (!h) return fail(h.take_error());
      json::object item_key{{key.hash.name, std::move(*h)}};
      if (key.range) {
        auto r = key_value(*range_terms[0].second.first, *key.range);
        if (!r) return fail(r.take_error());
        item_key[key.range->name] = std::move(*r);
      }
      req["Key"] = std::move(item_key);
    } else if (query) {
      plan.operation = "Query";
      auto h = key_value(*equality_value(*hash_terms[0], key.hash.name), key.hash);
      if (!h) return fail(h.take_error());
      std::string key_condition = w.name(key.hash.name) + " = " + w.value(std::move(*h));
      if (!range_terms.empty()) {
        const RangeTerm& r = range_terms[0].second;
        auto first = key_value(*r.first, *key.range);
        if (!first) return fail(first.take_error());
        std::string sk = w.name(key.range->name);
        std::string bound = w.value(std::move(*first));
        key_condition += " AND ";
        if (r.op == "between") {
          auto second = key_value(*r.second, *key.range);
          if (!second) return fail(second.take_error());
          key_condition += sk + " BETWEEN " + bound + " AND " + w.value(std::move(*second));
        } else if (r.op == "begins_with") {
          key_condition += "begins_with(" + sk + ", " + bound + ")";
        } else {
          key_condition += sk + " " + r.op + " " + bound;
        }
      }
      req["KeyConditionExpression"] = key_condition;
      if (!others.empty()) {
        auto filter = conditions(others, w);
        if (!filter) return fail(filter.take_error());
        req["FilterExpression"] = *filter;
      }
      if (descending) req["ScanIndexForward"] = false;
    } else {
      plan.operation = "Scan";
      if (s.where) {
        auto filter = conditions({s.where.get()}, w, kUnsupportedWhere);
        if (!filter) return fail(filter.take_error());
        req["FilterExpression"] = *filter;
      }
    }
    if (!projected.empty()) {
      std::vector<std::string> refs;
      for (const auto& name : projected) refs.push_back(w.name(name));
      req["ProjectionExpression"] = join(refs, ", ");
    }
    w.store(req);
    if (auto r = check_expressions(req, key); !r) return fail(r.take_error());
    return plan;
  }

  Result<PartiqlPlan, aws::ApiError> plan_body(const partiql::Insert& s) {
    auto schema = source_key(s.into, kNotOnIndex);
    if (!schema) return fail(schema.take_error());
    const KeySchemaForPlan& key = *schema;
    json::object item;
    // Each attribute's value is a "root" of its own in DynamoDB's messages.
    for (size_t i = 0; i + 1 < s.item->children.size(); i += 2) {
      const Expr& k = *s.item->children[i];
      if (k.kind != Kind::kLiteral || !k.literal.get_object().contains("S")) {
        std::string type = k.kind == Kind::kLiteral
                               ? std::string(k.literal.get_object().begin()->key())
                               : operator_name(k);
        return fail(
            validation("Tuple keys must be of type String. Actual type: " + type + " under root"));
      }
      std::string name(k.literal.get_object().at("S").get_string());
      if (item.contains(name))
        return fail(validation("Duplicate keys in tuple. Key: " + name + " under root"));
      auto v = value(*s.item->children[i + 1]);
      if (!v) return fail(v.take_error());
      item[name] = std::move(*v);
    }
    for (const KeyAttribute* k : {&key.hash, key.range ? &*key.range : nullptr}) {
      if (!k) continue;
      const json::value* v = item.if_contains(k->name);
      if (!v)
        return fail(validation("Key attribute should be present in the item: Key " + k->name));
      if (type_of(*v) != key_type_letter(k->type))
        return fail(validation(
            "Key attribute's data type should match its data type in table's schema: Key " +
            k->name));
    }
    PartiqlPlan plan;
    plan.operation = "PutItem";
    plan.table = s.into.table;
    ExpressionWriter w;
    json::object& req = plan.request;
    req["TableName"] = s.into.table;
    req["Item"] = std::move(item);
    // INSERT never replaces: the put holds only while no item has the key.
    req["ConditionExpression"] = "attribute_not_exists(" + w.name(key.hash.name) + ")";
    w.store(req);
    plan.condition_failed_error =
        aws::ApiError::make(400, "DuplicateItemException", "Duplicate primary key exists in table");
    if (auto r = check_expressions(req, key); !r) return fail(r.take_error());
    return plan;
  }

  Result<PartiqlPlan, aws::ApiError> plan_body(const partiql::Update& s) {
    auto schema = source_key(s.table, kNotOnIndex);
    if (!schema) return fail(schema.take_error());
    const KeySchemaForPlan& key = *schema;
    if (caller_ == PartiqlCaller::kExecuteTransaction && s.returning != Returning::kNone)
      return fail(validation(std::string(kReturningNotInTransaction)));
    auto item = item_key(s.where.get(), key);
    if (!item) return fail(item.take_error());

    PartiqlPlan plan;
    plan.operation = "UpdateItem";
    plan.table = s.table.table;
    ExpressionWriter w;
    UpdateClauses clauses;
    for (const auto& a : s.actions) {
      if (a.kind == partiql::UpdateAction::Kind::kRemove) {
        clauses.remove.push_back(w.path(a.target->path));
        continue;
      }
      const Expr& v = *a.value;
      if (v.kind == Kind::kCall && (v.name == "set_add" || v.name == "set_delete")) {
        auto action = set_member_action(*a.target, v, w);
        if (!action) return fail(action.take_error());
        (v.name == "set_add" ? clauses.add : clauses.del).push_back(std::move(*action));
        continue;
      }
      std::string target = w.path(a.target->path);
      auto rhs = update_operand(v, w);
      if (!rhs) return fail(rhs.take_error());
      clauses.set.push_back(target + " = " + *rhs);
    }
    // UPDATE never creates: the item must exist, and the WHERE hold on it.
    std::string condition = "attribute_exists(" + w.name(key.hash.name) + ")";
    if (!item->rest.empty()) {
      auto rest = conditions(item->rest, w);
      if (!rest) return fail(rest.take_error());
      condition += " AND " + *rest;
    }
    json::object& req = plan.request;
    req["TableName"] = s.table.table;
    req["Key"] = std::move(item->key);
    req["UpdateExpression"] = clauses.text();
    req["ConditionExpression"] = std::move(condition);
    w.store(req);
    switch (s.returning) {
      case Returning::kAllOld:
        req["ReturnValues"] = "ALL_OLD";
        break;
      case Returning::kModifiedOld:
        req["ReturnValues"] = "UPDATED_OLD";
        break;
      case Returning::kAllNew:
        req["ReturnValues"] = "ALL_NEW";
        break;
      case Returning::kModifiedNew:
        req["ReturnValues"] = "UPDATED_NEW";
        break;
      case Returning::kNone:
        break;
    }
    plan.returns_item = s.returning != Returning::kNone;
    if (auto r = check_expressions(req, key); !r) return fail(r.take_error());
    return plan;
  }

  Result<PartiqlPlan, aws::ApiError> plan_body(const partiql::Delete& s) {
    auto schema = source_key(s.from, kNotOnIndex);
    if (!schema) return fail(schema.take_error());
    const KeySchemaForPlan& key = *schema;
    if (caller_ == PartiqlCaller::kExecuteTransaction && s.returning != Returning::kNone)
      return fail(validation(std::string(kReturningNotInTransaction)));
    auto item = item_key(s.where.get(), key);
    if (!item) return fail(item.take_error());

    PartiqlPlan plan;
    plan.operation = "DeleteItem";
    plan.table = s.from.table;
    ExpressionWriter w;
    json::object& req = plan.request;
    req["TableName"] = s.from.table;
    req["Key"] = std::move(item->key);
    // DynamoDB deletes a missing item as a no-op success; the rest of the
    // WHERE must hold only on an item that exists.
    if (!item->rest.empty()) {
      auto rest = conditions(item->rest, w);
      if (!rest) return fail(rest.take_error());
      req["ConditionExpression"] =
          "attribute_not_exists(" + w.name(key.hash.name) + ") OR " + parenthesized(*rest);
    }
    w.store(req);
    if (s.returning == Returning::kAllOld) {
      req["ReturnValues"] = "ALL_OLD";
      plan.returns_item = true;
    }
    if (auto r = check_expressions(req, key); !r) return fail(r.take_error());
    return plan;
  }

  Result<PartiqlPlan, aws::ApiError> plan_body(const partiql::Exists& s) {
    if (caller_ != PartiqlCaller::kExecuteTransaction)
      return fail(validation("EXISTS can only be used in ExecuteTransaction write requests."));
    auto schema =
        source_key(s.select.from, "Operations on indices are not supported in transactions");
    if (!schema) return fail(schema.take_error());
    const KeySchemaForPlan& key = *schema;
    constexpr std::string_view kSingleItem =
        "EXISTS() must contain a single item read with additional condition";
    auto item = item_key(s.select.where.get(), key);
    if (!item) {
      aws::ApiError e = item.take_error();
      if (e.message.starts_with("Key attribute's data type")) return fail(std::move(e));
      return fail(validation(std::string(kSingleItem)));
    }
    if (item->rest.empty()) return fail(validation(std::string(kSingleItem)));

    PartiqlPlan plan;
    plan.operation = "ConditionCheck";
    plan.table = s.select.from.table;
    ExpressionWriter w;
    std::string condition = "attribute_exists(" + w.name(key.hash.name) + ")";
    auto rest = conditions(item->rest, w);
    if (!rest) return fail(rest.take_error());
    condition += " AND " + *rest;
    json::object& req = plan.request;
    req["TableName"] = s.select.from.table;
    req["Key"] = std::move(item->key);
    req["ConditionExpression"] = std::move(condition);
    w.store(req);
    if (auto r = check_expressions(req, key); !r) return fail(r.take_error());
    return plan;
  }

  std::string_view text_;
  const KeySchemaLookup& lookup_;
  PartiqlCaller caller_;
  std::vector<json::value> parameters_;
};

std::string length_error(std::string_view statement, std::string_view constraint) {
  return "1 validation error detected: Value '" + std::string(statement) +
         "' at 'statement' failed to satisfy constraint: Member must have length " +
         std::string(constraint);
}

}  // namespace

Result<partiql::Statement, aws::ApiError> parse_partiql(std::string_view statement) {
  if (!valid_utf8(statement)) return fail(not_well_formed(""));
  auto tokens = lex(statement);
  if (!tokens) return fail(not_well_formed(""));
  Parser parser(statement, std::move(*tokens));
  return parser.statement();
}

std::optional<KeySchemaForPlan> key_schema_for_plan(const TableSchema& table,
                                                    std::string_view index) {
  if (index.empty()) return KeySchemaForPlan{table.hash, table.range};
  for (const SecondaryIndex& i : table.indexes)
    if (i.name == index) return KeySchemaForPlan{i.hash, i.range};
  return std::nullopt;
}

Result<PartiqlPlan, aws::ApiError> plan_partiql(std::string_view statement,
                                                const json::array* parameters,
                                                const KeySchemaLookup& lookup,
                                                PartiqlCaller caller) {
  if (!valid_utf8(statement)) return fail(not_well_formed(""));
  size_t chars = utf8_length(statement);
  if (chars == 0) return fail(validation(length_error(statement, "greater than or equal to 1")));
  if (chars > kMaxPartiqlStatementChars)
    return fail(validation(length_error(statement, "less than or equal to 8192")));
  auto parsed = parse_partiql(statement);
  if (!parsed) return fail(parsed.take_error());
  size_t given = parameters ? parameters->size() : 0;
  if (given != parsed->parameter_count) return fail(validation(std::string(kParameterCount)));
  std::vector<json::value> bound;
  if (parameters)
    for (const json::value& p : *parameters) {
      json::value v = p;
      if (auto r = normalize_value(v); !r) return fail(r.take_error());
      bound.push_back(std::move(v));
    }
  Planner planner(statement, lookup, caller, std::move(bound));
  return planner.plan(*parsed);
}

json::object partiql_select_row(const PartiqlPlan& plan, const json::object& item) {
  if (plan.columns.empty()) return item;
  json::object row;
  for (const PartiqlColumn& c : plan.columns)
    if (const json::value* v = find_path(item, c.path)) row[c.name] = *v;
  return row;
}

}  // namespace nimbus::services::dynamodb
