// DynamoDB's expression language, syntax: the reserved words, the lexer, the
// recursive-descent parser that builds the typed tree of a condition, an
// update or a projection, and the request's ExpressionAttributeNames /
// ExpressionAttributeValues (ExpressionContext) that the checks substitute.
#include "services/dynamodb/expression.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <utility>

#include "services/dynamodb/expression_internal.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;
using namespace detail;

namespace {

// ---------------------------------------------------------------------------
// Reserved words:
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ReservedWords.html (573 words,
// sorted, upper case; the list's own typos FLATTERN, INNTER, LOGED included, since DynamoDB refuses
// them too).
// clang-format off
constexpr std::array<std::string_view, 573> kReservedWords = {
    "ABORT", "ABSOLUTE", "ACTION", "ADD", "AFTER", "AGENT", "AGGREGATE", "ALL", "ALLOCATE",
    "ALTER", "ANALYZE", "AND", "ANY", "ARCHIVE", "ARE", "ARRAY", "AS", "ASC", "ASCII",
    "ASENSITIVE", "ASSERTION", "ASYMMETRIC", "AT", "ATOMIC", "ATTACH", "ATTRIBUTE", "AUTH",
    "AUTHORIZATION", "AUTHORIZE", "AUTO", "AVG", "BACK", "BACKUP", "BASE", "BATCH", "BEFORE",
    "BEGIN", "BETWEEN", "BIGINT", "BINARY", "BIT", "BLOB", "BLOCK", "BOOLEAN", "BOTH", "BREADTH",
    "BUCKET", "BULK", "BY", "BYTE", "CALL", "CALLED", "CALLING", "CAPACITY", "CASCADE",
    "CASCADED", "CASE", "CAST", "CATALOG", "CHAR", "CHARACTER", "CHECK", "CLASS", "CLOB", "CLOSE",
    "CLUSTER", "CLUSTERED", "CLUSTERING", "CLUSTERS", "COALESCE", "COLLATE", "COLLATION",
    "COLLECTION", "COLUMN", "COLUMNS", "COMBINE", "COMMENT", "COMMIT", "COMPACT", "COMPILE",
    "COMPRESS", "CONDITION", "CONFLICT", "CONNECT", "CONNECTION", "CONSISTENCY", "CONSISTENT",
    "CONSTRAINT", "CONSTRAINTS", "CONSTRUCTOR", "CONSUMED", "CONTINUE", "CONVERT", "COPY",
    "CORRESPONDING", "COUNT", "COUNTER", "CREATE", "CROSS", "CUBE", "CURRENT", "CURSOR", "CYCLE",
    "DATA", "DATABASE", "DATE", "DATETIME", "DAY", "DEALLOCATE", "DEC", "DECIMAL", "DECLARE",
    "DEFAULT", "DEFERRABLE", "DEFERRED", "DEFINE", "DEFINED", "DEFINITION", "DELETE", "DELIMITED",
    "DEPTH", "DEREF", "DESC", "DESCRIBE", "DESCRIPTOR", "DETACH", "DETERMINISTIC", "DIAGNOSTICS",
    "DIRECTORIES", "DISABLE", "DISCONNECT", "DISTINCT", "DISTRIBUTE", "DO", "DOMAIN", "DOUBLE",
    "DROP", "DUMP", "DURATION", "DYNAMIC", "EACH", "ELEMENT", "ELSE", "ELSEIF", "EMPTY", "ENABLE",
    "END", "EQUAL", "EQUALS", "ERROR", "ESCAPE", "ESCAPED", "EVAL", "EVALUATE", "EXCEEDED",
    "EXCEPT", "EXCEPTION", "EXCEPTIONS", "EXCLUSIVE", "EXEC", "EXECUTE", "EXISTS", "EXIT",
    "EXPLAIN", "EXPLODE", "EXPORT", "EXPRESSION", "EXTENDED", "EXTERNAL", "EXTRACT", "FAIL",
    "FALSE", "FAMILY", "FETCH", "FIELDS", "FILE", "FILTER", "FILTERING", "FINAL", "FINISH",
    "FIRST", "FIXED", "FLATTERN", "FLOAT", "FOR", "FORCE", "FOREIGN", "FORMAT", "FORWARD",
    "FOUND", "FREE", "FROM", "FULL", "FUNCTION", "FUNCTIONS", "GENERAL", "GENERATE", "GET",
    "GLOB", "GLOBAL", "GO", "GOTO", "GRANT", "GREATER", "GROUP", "GROUPING", "HANDLER", "HASH",
    "HAVE", "HAVING", "HEAP", "HIDDEN", "HOLD", "HOUR", "IDENTIFIED", "IDENTITY", "IF", "IGNORE",
    "IMMEDIATE", "IMPORT", "IN", "INCLUDING", "INCLUSIVE", "INCREMENT", "INCREMENTAL", "INDEX",
    "INDEXED", "INDEXES", "INDICATOR", "INFINITE", "INITIALLY", "INLINE", "INNER", "INNTER",
    "INOUT", "INPUT", "INSENSITIVE", "INSERT", "INSTEAD", "INT", "INTEGER", "INTERSECT",
    "INTERVAL", "INTO", "INVALIDATE", "IS", "ISOLATION", "ITEM", "ITEMS", "ITERATE", "JOIN",
    "KEY", "KEYS", "LAG", "LANGUAGE", "LARGE", "LAST", "LATERAL", "LEAD", "LEADING", "LEAVE",
    "LEFT", "LENGTH", "LESS", "LEVEL", "LIKE", "LIMIT", "LIMITED", "LINES", "LIST", "LOAD",
    "LOCAL", "LOCALTIME", "LOCALTIMESTAMP", "LOCATION", "LOCATOR", "LOCK", "LOCKS", "LOG",
    "LOGED", "LONG", "LOOP", "LOWER", "MAP", "MATCH", "MATERIALIZED", "MAX", "MAXLEN", "MEMBER",
    "MERGE", "METHOD", "METRICS", "MIN", "MINUS", "MINUTE", "MISSING", "MOD", "MODE", "MODIFIES",
    "MODIFY", "MODULE", "MONTH", "MULTI", "MULTISET", "NAME", "NAMES", "NATIONAL", "NATURAL",
    "NCHAR", "NCLOB", "NEW", "NEXT", "NO", "NONE", "NOT", "NULL", "NULLIF", "NUMBER", "NUMERIC",
    "OBJECT", "OF", "OFFLINE", "OFFSET", "OLD", "ON", "ONLINE", "ONLY", "OPAQUE", "OPEN",
    "OPERATOR", "OPTION", "OR", "ORDER", "ORDINALITY", "OTHER", "OTHERS", "OUT", "OUTER",
    "OUTPUT", "OVER", "OVERLAPS", "OVERRIDE", "OWNER", "PAD", "PARALLEL", "PARAMETER",
    "PARAMETERS", "PARTIAL", "PARTITION", "PARTITIONED", "PARTITIONS", "PATH", "PERCENT",
    "PERCENTILE", "PERMISSION", "PERMISSIONS", "PIPE", "PIPELINED", "PLAN", "POOL", "POSITION",
    "PRECISION", "PREPARE", "PRESERVE", "PRIMARY", "PRIOR", "PRIVATE", "PRIVILEGES", "PROCEDURE",
    "PROCESSED", "PROJECT", "PROJECTION", "PROPERTY", "PROVISIONING", "PUBLIC", "PUT", "QUERY",
    "QUIT", "QUORUM", "RAISE", "RANDOM", "RANGE", "RANK", "RAW", "READ", "READS", "REAL",
    "REBUILD", "RECORD", "RECURSIVE", "REDUCE", "REF", "REFERENCE", "REFERENCES", "REFERENCING",
    "REGEXP", "REGION", "REINDEX", "RELATIVE", "RELEASE", "REMAINDER", "RENAME", "REPEAT",
    "REPLACE", "REQUEST", "RESET", "RESIGNAL", "RESOURCE", "RESPONSE", "RESTORE", "RESTRICT",
    "RESULT", "RETURN", "RETURNING", "RETURNS", "REVERSE", "REVOKE", "RIGHT", "ROLE", "ROLES",
    "ROLLBACK", "ROLLUP", "ROUTINE", "ROW", "ROWS", "RULE", "RULES", "SAMPLE", "SATISFIES",
    "SAVE", "SAVEPOINT", "SCAN", "SCHEMA", "SCOPE", "SCROLL", "SEARCH", "SECOND", "SECTION",
    "SEGMENT", "SEGMENTS", "SELECT", "SELF", "SEMI", "SENSITIVE", "SEPARATE", "SEQUENCE",
    "SERIALIZABLE", "SESSION", "SET", "SETS", "SHARD", "SHARE", "SHARED", "SHORT", "SHOW",
    "SIGNAL", "SIMILAR", "SIZE", "SKEWED", "SMALLINT", "SNAPSHOT", "SOME", "SOURCE", "SPACE",
    "SPACES", "SPARSE", "SPECIFIC", "SPECIFICTYPE", "SPLIT", "SQL", "SQLCODE", "SQLERROR",
    "SQLEXCEPTION", "SQLSTATE", "SQLWARNING", "START", "STATE", "STATIC", "STATUS", "STORAGE",
    "STORE", "STORED", "STREAM", "STRING", "STRUCT", "STYLE", "SUB", "SUBMULTISET",
    "SUBPARTITION", "SUBSTRING", "SUBTYPE", "SUM", "SUPER", "SYMMETRIC", "SYNONYM", "SYSTEM",
    "TABLE", "TABLESAMPLE", "TEMP", "TEMPORARY", "TERMINATED", "TEXT", "THAN", "THEN",
    "THROUGHPUT", "TIME", "TIMESTAMP", "TIMEZONE", "TINYINT", "TO", "TOKEN", "TOTAL", "TOUCH",
    "TRAILING", "TRANSACTION", "TRANSFORM", "TRANSLATE", "TRANSLATION", "TREAT", "TRIGGER",
    "TRIM", "TRUE", "TRUNCATE", "TTL", "TUPLE", "TYPE", "UNDER", "UNDO", "UNION", "UNIQUE",
    "UNIT", "UNKNOWN", "UNLOGGED", "UNNEST", "UNPROCESSED", "UNSIGNED", "UNTIL", "UPDATE",
    "UPPER", "URL", "USAGE", "USE", "USER", "USERS", "USING", "UUID", "VACUUM", "VALUE", "VALUED",
    "VALUES", "VARCHAR", "VARIABLE", "VARIANCE", "VARINT", "VARYING", "VIEW", "VIEWS", "VIRTUAL",
    "VOID", "WAIT", "WHEN", "WHENEVER", "WHERE", "WHILE", "WINDOW", "WITH", "WITHIN", "WITHOUT",
    "WORK", "WRAPPED", "WRITE", "YEAR", "ZONE",
};
// clang-format on

}  // namespace

namespace detail {

bool is_reserved(std::string_view name) {
  if (name.size() > 32) return false;  // longest reserved word is shorter
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return std::binary_search(kReservedWords.begin(), kReservedWords.end(), upper);
}

}  // namespace detail

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

// ---------------------------------------------------------------------------
// Lexer. One lexer for every expression kind, as DynamoDB has: a character
// that starts no token is a token of its own, so the parser reports it.

enum class Tok {
  kName,      // [A-Za-z][A-Za-z0-9_]*  (keywords too)
  kNameRef,   // #[A-Za-z0-9_]+
  kValueRef,  // :[A-Za-z0-9_]+
  kNumber,    // [0-9]+ (list indexes only)
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kDot,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kPlus,
  kMinus,
  kOther,  // anything else, one code point
  kEof,
};

struct Token {
  Tok kind;
  size_t pos;
  size_t end;
};

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_word(char c) {
  return is_alpha(c) || is_digit(c) || c == '_';
}

size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  auto word_end = [&](size_t from) {
    while (from < s.size() && is_word(s[from])) ++from;
    return from;
  };
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    size_t start = i;
    Tok kind = Tok::kOther;
    if (is_alpha(c)) {
      kind = Tok::kName;
      i = word_end(i + 1);
    } else if ((c == '#' || c == ':') && i + 1 < s.size() && is_word(s[i + 1])) {
      kind = c == '#' ? Tok::kNameRef : Tok::kValueRef;
      i = word_end(i + 1);
    } else if (is_digit(c)) {
      kind = Tok::kNumber;
      while (i < s.size() && is_digit(s[i])) ++i;
    } else if (c == '<' && i + 1 < s.size() && s[i + 1] == '>') {
      kind = Tok::kNe;
      i += 2;
    } else if (c == '<' && i + 1 < s.size() && s[i + 1] == '=') {
      kind = Tok::kLe;
      i += 2;
    } else if (c == '>' && i + 1 < s.size() && s[i + 1] == '=') {
      kind = Tok::kGe;
      i += 2;
    } else {
      switch (c) {
        case '(':
          kind = Tok::kLParen;
          break;
        case ')':
          kind = Tok::kRParen;
          break;
        case '[':
          kind = Tok::kLBracket;
          break;
        case ']':
          kind = Tok::kRBracket;
          break;
        case ',':
          kind = Tok::kComma;
          break;
        case '.':
          kind = Tok::kDot;
          break;
        case '=':
          kind = Tok::kEq;
          break;
        case '<':
          kind = Tok::kLt;
          break;
        case '>':
          kind = Tok::kGt;
          break;
        case '+':
          kind = Tok::kPlus;
          break;
        case '-':
          kind = Tok::kMinus;
          break;
        default:
          kind = Tok::kOther;
          break;
      }
      i += kind == Tok::kOther ? std::min(utf8_length(static_cast<unsigned char>(c)), s.size() - i)
                               : 1;
    }
    out.push_back({kind, start, i});
  }
  out.push_back({Tok::kEof, s.size(), s.size()});
  return out;
}

// ---------------------------------------------------------------------------
// Parser. Builds the tree or stops at the first syntax error; the semantic
// checks run afterwards on the whole tree, as DynamoDB reports any syntax
// error before any other.

enum class Grammar { kCondition, kUpdate, kProjection };

// Guards the recursion: "(", NOT and nested calls. 300 operators allow at most
// ~600 levels of NOT and parentheses; deeper input is refused rather than
// risk the stack (DynamoDB itself never gets there: it refuses such input as
// redundant parentheses, too many operators or an invalid function).
constexpr int kMaxDepth = 640;

class Parser {
 public:
  Parser(std::string_view text, Grammar grammar)
      : text_(text), grammar_(grammar), toks_(tokenize(text)) {}

  std::optional<Condition> condition_expression() {
    auto p = or_expr(false);
    if (!p) return std::nullopt;
    if (peek().kind != Tok::kEof) return fail_here<Condition>();
    return std::move(p->cond);
  }

  std::optional<Update> update_expression() {
    Update u;
    if (peek().kind == Tok::kEof) return fail_here<Update>();
    while (peek().kind != Tok::kEof) {
      const Token& t = peek();
      Action::Kind kind;
      if (keyword(t, "SET")) {
        kind = Action::Kind::kSet;
      } else if (keyword(t, "REMOVE")) {
        kind = Action::Kind::kRemove;
      } else if (keyword(t, "ADD")) {
        kind = Action::Kind::kAdd;
      } else if (keyword(t, "DELETE")) {
        kind = Action::Kind::kDelete;
      } else {
        return fail_here<Update>();
      }
      u.clauses.push_back(kind);
      advance();
      while (true) {
        Action a;
        a.kind = kind;
        auto p = path();
        if (!p) return std::nullopt;
        a.path = std::move(*p);
        if (kind == Action::Kind::kSet) {
          if (peek().kind != Tok::kEq) return fail_here<Update>();
          advance();
          if (!set_value(a)) return std::nullopt;
        } else if (kind == Action::Kind::kAdd || kind == Action::Kind::kDelete) {
          if (peek().kind != Tok::kValueRef) return fail_here<Update>();
          Operand v;
          v.kind = Operand::Kind::kValue;
          v.ref = std::string(text(peek()));
          advance();
          a.left = std::move(v);
        }
        u.actions.push_back(std::move(a));
        if (peek().kind != Tok::kComma) break;
        advance();
      }
    }
    return u;
  }

  std::optional<std::vector<ParsedPath>> projection_expression() {
    std::vector<ParsedPath> paths;
    while (true) {
      auto p = path();
      if (!p) return std::nullopt;
      paths.push_back(std::move(*p));
      if (peek().kind != Tok::kComma) break;
      advance();
    }
    if (peek().kind != Tok::kEof) return fail_here<std::vector<ParsedPath>>();
    return paths;
  }

  const std::string& error() const { return *error_; }
  bool redundant_parens() const { return redundant_; }

 private:
  // A condition, or (only directly inside "(") an operand that the caller may
  // still compare: "(a) = :v" and "(size(a)) > :n" are valid.
  struct Primary {
    std::optional<Condition> cond;
    std::optional<Operand> operand;
    bool parens = false;  // wrapped in parentheses and nothing else
  };

  class DepthGuard {
   public:
    explicit DepthGuard(Parser& p) : p_(p) {
      ok_ = ++p_.depth_ <= kMaxDepth;
      if (!ok_ && !p_.error_)
        p_.error_ = "The expression has too many nesting levels; nesting levels: " +
                    std::to_string(p_.depth_);
    }
    ~DepthGuard() { --p_.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;
    bool ok() const { return ok_; }

   private:
    Parser& p_;
    bool ok_;
  };

  const Token& peek(size_t k = 0) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
  void advance() {
    if (i_ + 1 < toks_.size()) ++i_;
  }
  std::string_view text(const Token& t) const {
    if (t.kind == Tok::kEof) return "<EOF>";
    return text_.substr(t.pos, t.end - t.pos);
  }
  bool keyword(const Token& t, std::string_view kw) const {
    return t.kind == Tok::kName && iequals(text(t), kw);
  }
  // Keywords are tokens of their own in DynamoDB's grammar, never names.
  bool any_keyword(const Token& t) const {
    if (t.kind != Tok::kName) return false;
    switch (grammar_) {
      case Grammar::kCondition:
        return keyword(t, "AND") || keyword(t, "OR") || keyword(t, "NOT") ||
               keyword(t, "BETWEEN") || keyword(t, "IN");
      case Grammar::kUpdate:
        return keyword(t, "SET") || keyword(t, "REMOVE") || keyword(t, "ADD") ||
               keyword(t, "DELETE");
      case Grammar::kProjection:
        return false;
    }
    return false;
  }
  bool name_token(const Token& t) const { return t.kind == Tok::kName && !any_keyword(t); }

  // DynamoDB's syntax error: the offending token, and the text from the
  // previous token to the next one (e.g. token "*", near "a * :v").
  template <class T>
  std::optional<T> fail_here() {
    if (!error_) {
      size_t k = std::min(i_, toks_.size() - 1);
      const Token& t = toks_[k];
      const Token& prev = k > 0 ? toks_[k - 1] : t;
      size_t end = t.end;
      if (t.kind == Tok::kEof) {
        end = prev.end;
      } else if (toks_[k + 1].kind != Tok::kEof) {
        end = toks_[k + 1].end;
      }
      size_t start = std::min(prev.pos, end);
      error_ = "Syntax error; token: \"" + std::string(text(t)) + "\", near: \"" +
               std::string(text_.substr(start, end - start)) + "\"";
    }
    return std::nullopt;
  }
  template <class T>
  std::optional<T> fail(std::string message) {
    if (!error_) error_ = std::move(message);
    return std::nullopt;
  }

  // DynamoDB counts comparisons, BETWEEN, IN, AND, OR and NOT (not functions
  // or parentheses) and stops at the 301st.
  bool count_operator() {
    if (++operators_ <= kMaxExpressionOperators) return true;
    if (!error_)
      error_ = "The expression contains too many operators; operator count: " +
               std::to_string(operators_);
    return false;
  }

  std::optional<ParsedPath> path() {
    ParsedPath p;
    const Token& first = peek();
    if (name_token(first)) {
      p.steps.push_back({std::string(text(first)), false, false, 0});
    } else if (first.kind == Tok::kNameRef) {
      p.steps.push_back({std::string(text(first)), true, false, 0});
    } else {
      return fail_here<ParsedPath>();
    }
    advance();
    while (true) {
      if (peek().kind == Tok::kDot) {
        advance();
        const Token& t = peek();
        if (name_token(t)) {
          p.steps.push_back({std::string(text(t)), false, false, 0});
        } else if (t.kind == Tok::kNameRef) {
          p.steps.push_back({std::string(text(t)), true, false, 0});
        } else {
          return fail_here<ParsedPath>();
        }
        advance();
      } else if (peek().kind == Tok::kLBracket) {
        advance();
        const Token& t = peek();
        if (t.kind != Tok::kNumber) return fail_here<ParsedPath>();
        std::string digits(text(t));
        uint64_t index = 0;
        for (char c : digits) {
          index = index * 10 + static_cast<uint64_t>(c - '0');
          if (index > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
            return fail<ParsedPath>("List index is not within the allowable range; index: [" +
                                    digits + "]");
        }
        advance();
        if (peek().kind != Tok::kRBracket) return fail_here<ParsedPath>();
        advance();
        p.steps.push_back({std::move(digits), false, true, static_cast<uint32_t>(index)});
      } else {
        return p;
      }
    }
  }

  std::optional<Operand> function_call() {
    DepthGuard guard(*this);
    if (!guard.ok()) return std::nullopt;
    Operand f;
    f.kind = Operand::Kind::kFunction;
    f.function = std::string(text(peek()));
    advance();  // name
    advance();  // "("
    while (true) {
      bool parens = false;
      auto arg = operand(parens);
      if (!arg) return std::nullopt;
      f.args.push_back(std::move(*arg));
      if (peek().kind == Tok::kComma) {
        advance();
        continue;
      }
      if (peek().kind != Tok::kRParen) return fail_here<Operand>();
      advance();
      return f;
    }
  }

  // operand := path | :value | name(operand, ...) | "(" operand ")"
  std::optional<Operand> operand(bool& parens) {
    DepthGuard guard(*this);
    if (!guard.ok()) return std::nullopt;
    parens = false;
    const Token& t = peek();
    if (t.kind == Tok::kLParen) {
      advance();
      bool inner_parens = false;
      auto inner = operand(inner_parens);
      if (!inner) return std::nullopt;
      if (peek().kind != Tok::kRParen) return fail_here<Operand>();
      advance();
      if (inner_parens) redundant_ = true;
      parens = true;
      return inner;
    }
    if (name_token(t) && peek(1).kind == Tok::kLParen) return function_call();
    if (t.kind == Tok::kValueRef) {
      Operand v;
      v.kind = Operand::Kind::kValue;
      v.ref = std::string(text(t));
      advance();
      return v;
    }
    if (name_token(t) || t.kind == Tok::kNameRef) {
      auto p = path();
      if (!p) return std::nullopt;
      Operand o;
      o.kind = Operand::Kind::kPath;
      o.path = std::move(*p);
      return o;
    }
    return fail_here<Operand>();
  }

  // Condition grammar, loosest first: OR, AND, NOT, then comparisons.
  // `allow_bare` is true only for the first primary right after "(".
  std::optional<Primary> or_expr(bool allow_bare) {
    return chain(allow_bare, "OR", Condition::Kind::kOr,
                 [this](bool bare) { return and_expr(bare); });
  }
  std::optional<Primary> and_expr(bool allow_bare) {
    return chain(allow_bare, "AND", Condition::Kind::kAnd,
                 [this](bool bare) { return not_expr(bare); });
  }
  template <class Next>
  std::optional<Primary> chain(bool allow_bare, std::string_view kw, Condition::Kind kind,
                               Next next) {
    auto first = next(allow_bare);
    if (!first || first->operand || !keyword(peek(), kw)) return first;
    Condition c;
    c.kind = kind;
    c.children.push_back(std::move(*first->cond));
    while (keyword(peek(), kw)) {
      if (!count_operator()) return std::nullopt;
      advance();
      auto more = next(false);
      if (!more) return std::nullopt;
      c.children.push_back(std::move(*more->cond));
    }
    Primary p;
    p.cond = std::move(c);
    return p;
  }

  std::optional<Primary> not_expr(bool allow_bare) {
    if (!keyword(peek(), "NOT")) return primary(allow_bare);
    DepthGuard guard(*this);
    if (!guard.ok() || !count_operator()) return std::nullopt;
    advance();
    auto inner = not_expr(false);
    if (!inner) return std::nullopt;
    Condition c;
    c.kind = Condition::Kind::kNot;
    c.children.push_back(std::move(*inner->cond));
    Primary p;
    p.cond = std::move(c);
    return p;
  }

  std::optional<Primary> primary(bool allow_bare) {
    DepthGuard guard(*this);
    if (!guard.ok()) return std::nullopt;
    Operand lhs;
    bool lhs_parens = false;
    if (peek().kind == Tok::kLParen) {
      advance();
      auto inner = or_expr(true);
      if (!inner) return std::nullopt;
      if (peek().kind != Tok::kRParen) return fail_here<Primary>();
      advance();
      if (inner->parens) redundant_ = true;
      if (inner->cond) {
        Primary p;
        p.cond = std::move(inner->cond);
        p.parens = true;
        return p;
      }
      lhs = std::move(*inner->operand);
      lhs_parens = true;
    } else {
      bool parens = false;
      auto o = operand(parens);
      if (!o) return std::nullopt;
      lhs = std::move(*o);
    }
    return comparison(std::move(lhs), lhs_parens, allow_bare);
  }

  std::optional<Primary> comparison(Operand lhs, bool lhs_parens, bool allow_bare) {
    const Token& t = peek();
    Condition c;
    bool parens = false;
    if (t.kind == Tok::kEq || t.kind == Tok::kNe || t.kind == Tok::kLt || t.kind == Tok::kLe ||
        t.kind == Tok::kGt || t.kind == Tok::kGe) {
      if (!count_operator()) return std::nullopt;
      c.kind = Condition::Kind::kCompare;
      c.cmp = t.kind == Tok::kEq   ? Cmp::kEq
              : t.kind == Tok::kNe ? Cmp::kNe
              : t.kind == Tok::kLt ? Cmp::kLt
              : t.kind == Tok::kLe ? Cmp::kLe
              : t.kind == Tok::kGt ? Cmp::kGt
                                   : Cmp::kGe;
      advance();
      auto rhs = operand(parens);
      if (!rhs) return std::nullopt;
      c.operands.push_back(std::move(lhs));
      c.operands.push_back(std::move(*rhs));
    } else if (keyword(t, "BETWEEN")) {
      if (!count_operator()) return std::nullopt;
      c.kind = Condition::Kind::kBetween;
      advance();
      auto lower = operand(parens);
      if (!lower) return std::nullopt;
      if (!keyword(peek(), "AND")) return fail_here<Primary>();
      advance();
      auto upper = operand(parens);
      if (!upper) return std::nullopt;
      c.operands.push_back(std::move(lhs));
      c.operands.push_back(std::move(*lower));
      c.operands.push_back(std::move(*upper));
    } else if (keyword(t, "IN")) {
      if (!count_operator()) return std::nullopt;
      c.kind = Condition::Kind::kIn;
      advance();
      if (peek().kind != Tok::kLParen) return fail_here<Primary>();
      advance();
      c.operands.push_back(std::move(lhs));
      while (true) {
        auto item = operand(parens);
        if (!item) return std::nullopt;
        c.operands.push_back(std::move(*item));
        if (peek().kind == Tok::kComma) {
          advance();
          continue;
        }
        if (peek().kind != Tok::kRParen) return fail_here<Primary>();
        advance();
        break;
      }
    } else if (allow_bare && t.kind == Tok::kRParen) {
      Primary p;
      p.operand = std::move(lhs);
      p.parens = lhs_parens;
      return p;
    } else if (lhs.kind == Operand::Kind::kFunction) {
      c.kind = Condition::Kind::kFunction;
      c.operands.push_back(std::move(lhs));
    } else {
      // A bare path or value is not a condition ("NOT #flag" is a syntax
      // error at the token after it).
      return fail_here<Primary>();
    }
    Primary p;
    p.cond = std::move(c);
    return p;
  }

  // set_value := term [("+" | "-") term] | "(" set_value ")"
  // where a term is an operand; "a + b + c" and "f(a + b)" are syntax errors.
  bool set_value(Action& a) {
    DepthGuard guard(*this);
    if (!guard.ok()) return false;
    if (peek().kind == Tok::kLParen) {
      // "(x)", "(x + y)" or "(x) + y": parse the group as a set value.
      advance();
      Action inner;
      if (!set_value(inner)) return false;
      if (peek().kind != Tok::kRParen) {
        fail_here<bool>();
        return false;
      }
      advance();
      if (inner.op != 0) {
        a.left = std::move(inner.left);
        a.op = inner.op;
        a.right = std::move(inner.right);
        return true;
      }
      a.left = std::move(inner.left);
    } else {
      bool parens = false;
      auto left = operand(parens);
      if (!left) return false;
      a.left = std::move(*left);
    }
    if (peek().kind == Tok::kPlus || peek().kind == Tok::kMinus) {
      a.op = peek().kind == Tok::kPlus ? '+' : '-';
      advance();
      bool parens = false;
      auto right = operand(parens);
      if (!right) return false;
      a.right = std::move(*right);
    }
    return true;
  }

  std::string_view text_;
  Grammar grammar_;
  std::vector<Token> toks_;
  size_t i_ = 0;
  int depth_ = 0;
  int operators_ = 0;
  bool redundant_ = false;
  std::optional<std::string> error_;
};

}  // namespace

namespace detail {

Result<ParsedCondition, std::string> parse_condition_syntax(std::string_view text) {
  Parser parser(text, Grammar::kCondition);
  auto tree = parser.condition_expression();
  if (!tree) return fail(parser.error());
  return ParsedCondition{std::move(*tree), parser.redundant_parens()};
}

Result<Update, std::string> parse_update_syntax(std::string_view text) {
  Parser parser(text, Grammar::kUpdate);
  auto parsed = parser.update_expression();
  if (!parsed) return fail(parser.error());
  return std::move(*parsed);
}

Result<std::vector<ParsedPath>, std::string> parse_projection_syntax(std::string_view text) {
  Parser parser(text, Grammar::kProjection);
  auto parsed = parser.projection_expression();
  if (!parsed) return fail(parser.error());
  return std::move(*parsed);
}

}  // namespace detail

// ---- ExpressionContext ----

Result<ExpressionContext, std::string> ExpressionContext::create(const json::object* names,
                                                                 const json::object* values) {
  auto valid_key = [](std::string_view key, char sigil) {
    return key.size() > 1 && key[0] == sigil &&
           std::all_of(key.begin() + 1, key.end(), [](char c) { return is_word(c); });
  };
  if (names) {
    if (names->empty()) return fail(std::string("ExpressionAttributeNames must not be empty"));
    for (const auto& kv : *names)
      if (!valid_key(kv.key(), '#'))
        return fail("ExpressionAttributeNames contains invalid key: Syntax error; key: \"" +
                    std::string(kv.key()) + "\"");
  }
  if (values) {
    if (values->empty()) return fail(std::string("ExpressionAttributeValues must not be empty"));
    for (const auto& kv : *values)
      if (!valid_key(kv.key(), ':'))
        return fail("ExpressionAttributeValues contains invalid key: Syntax error; key: \"" +
                    std::string(kv.key()) + "\"");
  }
  return ExpressionContext(names, values);
}

Result<void, std::string> ExpressionContext::check_unused() const {
  auto unused = [](const json::object* map, const std::set<std::string, std::less<>>& used,
                   std::string_view what) -> Check {
    if (!map) return std::nullopt;
    std::string keys;
    for (const auto& kv : *map) {
      if (used.count(kv.key())) continue;
      if (!keys.empty()) keys += ", ";
      keys += kv.key();
    }
    if (keys.empty()) return std::nullopt;
    return "Value provided in " + std::string(what) + " unused in expressions: keys: {" + keys +
           "}";
  };
  if (Check c = unused(names_, used_names_, "ExpressionAttributeNames")) return fail(*c);
  if (Check c = unused(values_, used_values_, "ExpressionAttributeValues")) return fail(*c);
  return {};
}

const json::string* ExpressionContext::name(std::string_view ref) {
  if (!names_) return nullptr;
  const json::value* v = names_->if_contains(ref);
  if (!v || !v->is_string()) return nullptr;
  used_names_.emplace(ref);
  return &v->get_string();
}

const json::value* ExpressionContext::value(std::string_view ref) {
  if (!values_) return nullptr;
  const json::value* v = values_->if_contains(ref);
  if (!v) return nullptr;
  used_values_.emplace(ref);
  return v;
}

}  // namespace nimbus::services::dynamodb
