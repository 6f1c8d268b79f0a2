// DynamoDB's PartiQL, parsing: the recursive-descent parser that reads the
// lexer's tokens into a partiql::Statement, refusing as DynamoDB does what it
// refuses while parsing (aliases, LIMIT, RETURNING on INSERT, ...), and
// parse_partiql().
#include "services/dynamodb/partiql.h"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

#include "services/dynamodb/partiql_internal.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;
using partiql::Expr;
using partiql::ExprPtr;
using partiql::Returning;
using partiql::SourceSpan;
using Kind = partiql::Expr::Kind;
using namespace partiql::detail;

namespace {

// ---------------------------------------------------------------------------
// Parser: recursive descent over PartiQL's precedence levels (OR < AND < NOT
// < = <> IS IN < < <= > >= BETWEEN LIKE < + - || < * / % < unary). Every
// failure is recorded once (the first wins) and unwinds as a null node.

constexpr std::string_view kStarAndOthers =
    "Other attributes should not be present in the projection when '*' is used.";

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

}  // namespace

Result<partiql::Statement, aws::ApiError> parse_partiql(std::string_view statement) {
  if (!valid_utf8(statement)) return fail(not_well_formed(""));
  auto tokens = lex(statement);
  if (!tokens) return fail(not_well_formed(""));
  Parser parser(statement, std::move(*tokens));
  return parser.statement();
}

}  // namespace nimbus::services::dynamodb
