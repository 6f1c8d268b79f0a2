// DynamoDB expressions: lexer, recursive-descent parser, DynamoDB's semantic
// checks (in the order DynamoDB reports them), and evaluation.
//
// Wording of the messages: DynamoDB's own texts as quoted by ScyllaDB's
// Alternator test suite, by dynalite's tests (written against DynamoDB) and by
// error dumps from the real service found in public code. Where sources
// disagree, see the comment at the message.
#include "services/dynamodb/expression.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <limits>
#include <unordered_set>
#include <utility>

#include "base/ids.h"
#include "services/dynamodb/item.h"
#include "services/dynamodb/number.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

namespace {

// ---------------------------------------------------------------------------
// Attribute values in wire form.

const json::value* payload(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o || o->size() != 1) return nullptr;
  return &o->begin()->value();
}

std::optional<std::string_view> payload_string(const json::value& v) {
  const json::value* p = payload(v);
  if (!p || !p->is_string()) return std::nullopt;
  return std::string_view(p->get_string());
}

std::optional<Number> number_of(const json::value& payload_value) {
  if (!payload_value.is_string()) return std::nullopt;
  auto n = Number::parse(std::string_view(payload_value.get_string()));
  if (!n.ok()) return std::nullopt;
  return std::move(n).value();
}

std::optional<std::string> bytes_of(const json::value& payload_value) {
  if (!payload_value.is_string()) return std::nullopt;
  std::string out;
  if (!base64_decode(std::string_view(payload_value.get_string()), out)) return std::nullopt;
  return out;
}

// Equality of two set members or scalars of scalar type `t` (S, N or B),
// given as payloads.
bool scalar_payload_equal(std::string_view t, const json::value& a, const json::value& b) {
  if (!a.is_string() || !b.is_string()) return false;
  if (t == "N") {
    auto x = number_of(a), y = number_of(b);
    if (x && y) return *x == *y;
  } else if (t == "B") {
    auto x = bytes_of(a), y = bytes_of(b);
    if (x && y) return *x == *y;
  }
  return a.get_string() == b.get_string();
}

std::string_view set_member_type(std::string_view set_type) {
  if (set_type == "SS") return "S";
  if (set_type == "NS") return "N";
  if (set_type == "BS") return "B";
  return {};
}

bool set_contains(std::string_view member_type, const json::array& set, const json::value& m) {
  return std::any_of(set.begin(), set.end(),
                     [&](const json::value& e) { return scalar_payload_equal(member_type, e, m); });
}

// A set member as text that is equal exactly when the members are: numbers
// in canonical form, binary decoded. Lets set operations hash instead of
// comparing every pair (sets can hold thousands of members).
std::string member_key(std::string_view member_type, const json::value& m) {
  if (!m.is_string()) return {};
  if (member_type == "N") {
    if (auto n = number_of(m)) return n->to_string();
  } else if (member_type == "B") {
    if (auto b = bytes_of(m)) return *b;
  }
  return std::string(m.get_string());
}

std::unordered_set<std::string> member_keys(std::string_view member_type, const json::array& set) {
  std::unordered_set<std::string> keys;
  for (const json::value& m : set) keys.insert(member_key(member_type, m));
  return keys;
}

std::optional<int64_t> size_of(const json::value& v) {
  std::string_view t = type_of(v);
  const json::value* p = payload(v);
  if (!p) return std::nullopt;
  if (t == "S" && p->is_string()) return static_cast<int64_t>(p->get_string().size());
  if (t == "B") {
    auto b = bytes_of(*p);
    if (b) return static_cast<int64_t>(b->size());
    return std::nullopt;
  }
  if ((t == "SS" || t == "NS" || t == "BS" || t == "L") && p->is_array())
    return static_cast<int64_t>(p->get_array().size());
  if (t == "M" && p->is_object()) return static_cast<int64_t>(p->get_object().size());
  return std::nullopt;
}

json::value number_value(std::string text) {
  json::object o;
  o["N"] = std::move(text);
  return o;
}

// The names DynamoDB prints for a type in ADD/DELETE operand messages.
std::string_view long_type_name(std::string_view t) {
  if (t == "S") return "STRING";
  if (t == "N") return "NUMBER";
  if (t == "B") return "BINARY";
  if (t == "BOOL") return "BOOLEAN";
  if (t == "NULL") return "NULL";
  if (t == "L") return "LIST";
  if (t == "M") return "MAP";
  if (t == "SS") return "STRING_SET";
  if (t == "NS") return "NUMBER_SET";
  if (t == "BS") return "BINARY_SET";
  return t;
}

// "{N:5}": how DynamoDB prints a scalar bound in its BETWEEN messages.
std::string attribute_value_text(const json::value& v) {
  std::string out = "AttributeValue: {";
  out += type_of(v);
  out += ':';
  if (auto s = payload_string(v)) out += *s;
  out += '}';
  return out;
}

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

bool is_reserved(std::string_view name) {
  if (name.size() > 32) return false;  // longest reserved word is shorter
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return std::binary_search(kReservedWords.begin(), kReservedWords.end(), upper);
}

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

}  // namespace

// ---------------------------------------------------------------------------
// The trees.

namespace detail {

struct PathStep {
  std::string text;  // a name, a "#ref" or the index digits, as written
  bool is_ref = false;
  bool is_index = false;
  uint32_t index = 0;
};

struct ParsedPath {
  std::vector<PathStep> steps;
  Path resolved;  // after name substitution
};

struct Operand {
  enum class Kind { kPath, kValue, kFunction };
  Kind kind = Kind::kPath;
  ParsedPath path;            // kPath
  std::string ref;            // kValue: ":v" as written
  json::value value;          // kValue: its substitution
  std::string function;       // kFunction
  std::vector<Operand> args;  // kFunction
};

enum class Cmp { kEq, kNe, kLt, kLe, kGt, kGe };

struct Condition {
  enum class Kind { kCompare, kBetween, kIn, kFunction, kAnd, kOr, kNot };
  Kind kind = Kind::kCompare;
  Cmp cmp = Cmp::kEq;
  // kCompare: 2; kBetween: value, lower, upper; kIn: value then the list;
  // kFunction: the call.
  std::vector<Operand> operands;
  std::vector<Condition> children;  // kAnd / kOr (two or more), kNot (one)
};

struct Action {
  enum class Kind { kSet, kRemove, kAdd, kDelete };
  Kind kind = Kind::kSet;
  ParsedPath path;
  // SET: left [op right]; ADD / DELETE: left is the ":value".
  std::optional<Operand> left;
  char op = 0;  // '+', '-' or 0
  std::optional<Operand> right;
};

struct Update {
  std::vector<Action> actions;
  std::vector<Action::Kind> clauses;  // in order, to find a repeated one
};

}  // namespace detail

namespace {

using detail::Action;
using detail::Cmp;
using detail::Condition;
using detail::Operand;
using detail::ParsedPath;
using detail::PathStep;
using detail::Update;

std::string_view cmp_text(Cmp c) {
  switch (c) {
    case Cmp::kEq:
      return "=";
    case Cmp::kNe:
      return "<>";
    case Cmp::kLt:
      return "<";
    case Cmp::kLe:
      return "<=";
    case Cmp::kGt:
      return ">";
    case Cmp::kGe:
      return ">=";
  }
  return "=";
}

std::string_view clause_text(Action::Kind k) {
  switch (k) {
    case Action::Kind::kSet:
      return "SET";
    case Action::Kind::kRemove:
      return "REMOVE";
    case Action::Kind::kAdd:
      return "ADD";
    case Action::Kind::kDelete:
      return "DELETE";
  }
  return "SET";
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

// ---------------------------------------------------------------------------
// Semantic checks, run after a successful parse. Each returns the first
// problem of its kind in source order; the callers run them in DynamoDB's
// order of precedence.

using Check = std::optional<std::string>;

// Pre-order walk over every operand of a condition, including function
// arguments; `fn(const Operand&, const Operand* parent_function)` returns a
// message to stop.
template <class Fn>
Check walk_operand(Operand& o, const Operand* parent, Fn& fn) {
  if (Check c = fn(o, parent)) return c;
  for (Operand& arg : o.args)
    if (Check c = walk_operand(arg, &o, fn)) return c;
  return std::nullopt;
}

template <class Fn>
Check walk_condition(Condition& c, Fn& fn) {
  for (Operand& o : c.operands)
    if (Check r = walk_operand(o, nullptr, fn)) return r;
  for (Condition& child : c.children)
    if (Check r = walk_condition(child, fn)) return r;
  return std::nullopt;
}

// Every path of a condition, in source order.
template <class Fn>
Check walk_paths(Condition& c, Fn&& fn) {
  auto visit = [&](Operand& o, const Operand*) -> Check {
    if (o.kind == Operand::Kind::kPath) return fn(o.path);
    return std::nullopt;
  };
  return walk_condition(c, visit);
}

bool is_condition_function(std::string_view f) {
  return f == "attribute_exists" || f == "attribute_not_exists" || f == "attribute_type" ||
         f == "begins_with" || f == "contains" || f == "size";
}
bool is_update_function(std::string_view f) {
  return f == "if_not_exists" || f == "list_append";
}

size_t function_arity(std::string_view f) {
  if (f == "attribute_exists" || f == "attribute_not_exists" || f == "size") return 1;
  return 2;
}

Check check_function_name(const Operand& o, bool in_update) {
  if (o.kind != Operand::Kind::kFunction) return std::nullopt;
  if (in_update) {
    if (is_update_function(o.function)) return std::nullopt;
    if (is_condition_function(o.function))
      return "The function is not allowed in an update expression; function: " + o.function;
  } else {
    if (is_condition_function(o.function)) return std::nullopt;
    if (is_update_function(o.function))
      return "The function is not allowed in a condition expression; function: " + o.function;
  }
  return "Invalid function name; function: " + o.function;
}

Check check_reserved(const ParsedPath& p) {
  for (const PathStep& s : p.steps)
    if (!s.is_ref && !s.is_index && is_reserved(s.text))
      return "Attribute name is a reserved keyword; reserved keyword: " + s.text;
  return std::nullopt;
}

Check check_nesting(const ParsedPath& p) {
  if (p.steps.size() > kMaxPathNesting)
    return "The document path has too many nesting levels; nesting levels: " +
           std::to_string(p.steps.size());
  return std::nullopt;
}

Check resolve_path(ParsedPath& p, ExpressionContext& ctx) {
  p.resolved.clear();
  for (const PathStep& s : p.steps) {
    if (s.is_index) {
      p.resolved.emplace_back(s.index);
    } else if (s.is_ref) {
      const json::string* n = ctx.name(s.text);
      if (!n)
        return "An expression attribute name used in the document path is not defined; "
               "attribute name: " +
               s.text;
      p.resolved.emplace_back(std::string(*n));
    } else {
      p.resolved.emplace_back(s.text);
    }
  }
  return std::nullopt;
}

Check resolve_value(Operand& o, ExpressionContext& ctx) {
  const json::value* v = ctx.value(o.ref);
  if (!v)
    return "An expression attribute value used in expression is not defined; attribute value: " +
           o.ref;
  o.value = *v;
  return std::nullopt;
}

std::string incorrect_operand_type(std::string_view fn, std::string_view type) {
  return "Incorrect operand type for operator or function; operator or function: " +
         std::string(fn) + ", operand type: " + std::string(type);
}

// The type an operand is known to have before any item is read: a constant's
// type, or N for size(); empty for paths.
std::string_view static_type(const Operand& o) {
  if (o.kind == Operand::Kind::kValue) return type_of(o.value);
  if (o.kind == Operand::Kind::kFunction && o.function == "size") return "N";
  return {};
}

bool same_path(const Operand& a, const Operand& b) {
  return a.kind == Operand::Kind::kPath && b.kind == Operand::Kind::kPath &&
         a.path.resolved == b.path.resolved;
}

std::string distinct_error(std::string_view op, const Operand& first) {
  return "The first operand must be distinct from the remaining operands for this operator or "
         "function; operator: " +
         std::string(op) + ", first operand: " + path_to_string(first.path.resolved);
}

// Condition functions: arity, distinct operands, types of constants.
Check check_condition_function_arity(const Operand& f) {
  if (f.kind != Operand::Kind::kFunction) return std::nullopt;
  if (f.args.size() != function_arity(f.function))
    return "Incorrect number of operands for operator or function; operator or function: " +
           f.function + ", number of operands: " + std::to_string(f.args.size());
  return std::nullopt;
}

Check check_condition_function_types(const Operand& f) {
  if (f.kind != Operand::Kind::kFunction) return std::nullopt;
  const std::string& name = f.function;
  if (name == "attribute_exists" || name == "attribute_not_exists") {
    if (f.args[0].kind != Operand::Kind::kPath)
      return "Operator or function requires a document path; operator or function: " + name;
  } else if (name == "attribute_type") {
    const Operand& t = f.args[1];
    std::string_view type = static_type(t);
    // A path's type is unknown until evaluation; DynamoDB names every type
    // it knows of (including internal ones) in that case.
    if (t.kind == Operand::Kind::kPath)
      type =
          "{S,SS,N,NS,B,BS,BOOL,NULL,L,M,HD,DOUBLE,FLOAT,HDS,FS,DOUBLESET,DICT,DECIMAL,INT,"
          "DECIMALSET,INTSET}";
    if (type != "S") return incorrect_operand_type(name, type);
    std::string_view want = payload_string(t.value).value_or("");
    static constexpr std::array<std::string_view, 10> kTypes = {"S",  "SS",   "N",    "NS", "B",
                                                                "BS", "BOOL", "NULL", "L",  "M"};
    if (std::find(kTypes.begin(), kTypes.end(), want) == kTypes.end())
      return "Invalid attribute type name found; type: " + std::string(want) +
             ", valid types: {S,SS,N,NS,B,BS,BOOL,NULL,L,M}";
  } else if (name == "begins_with") {
    for (const Operand& a : f.args) {
      std::string_view t = static_type(a);
      if (!t.empty() && t != "S" && t != "B") return incorrect_operand_type(name, t);
    }
  } else if (name == "size") {
    std::string_view t = static_type(f.args[0]);
    if (t == "N" || t == "BOOL" || t == "NULL") return incorrect_operand_type(name, t);
  }
  return std::nullopt;
}

bool is_ordering(Cmp c) {
  return c != Cmp::kEq && c != Cmp::kNe;
}

bool orderable(std::string_view t) {
  return t == "S" || t == "N" || t == "B";
}

// Problems found in the condition tree itself, in DynamoDB's order: redundant
// parentheses, function names, functions used in the wrong place, reserved
// words, path depth, undefined names and values, operand counts, identical
// operands, operand types.
Check validate_condition(Condition& root, ExpressionContext& ctx, bool redundant) {
  if (redundant) return "The expression has redundant parentheses;";

  auto names = [](Operand& o, const Operand*) { return check_function_name(o, false); };
  if (Check c = walk_condition(root, names)) return c;

  // Only size() yields a value usable as an operand; every other function is
  // a condition of its own, and size() is not one.
  std::function<Check(Condition&)> misuse = [&](Condition& c) -> Check {
    if (c.kind == Condition::Kind::kFunction) {
      const Operand& f = c.operands[0];
      if (f.function == "size")
        return "The function is not allowed to be used this way in an expression; function: size";
    } else {
      for (const Operand& o : c.operands)
        if (o.kind == Operand::Kind::kFunction && o.function != "size")
          return "The function is not allowed to be used this way in an expression; function: " +
                 o.function;
    }
    auto args = [](Operand& o, const Operand* parent) -> Check {
      if (parent && o.kind == Operand::Kind::kFunction && o.function != "size")
        return "The function is not allowed to be used this way in an expression; function: " +
               o.function;
      return std::nullopt;
    };
    for (Operand& o : c.operands)
      if (Check r = walk_operand(o, nullptr, args)) return r;
    for (Condition& child : c.children)
      if (Check r = misuse(child)) return r;
    return std::nullopt;
  };
  if (Check c = misuse(root)) return c;

  if (Check c = walk_paths(root, [](ParsedPath& p) { return check_reserved(p); })) return c;
  if (Check c = walk_paths(root, [](ParsedPath& p) { return check_nesting(p); })) return c;

  auto resolve = [&](Operand& o, const Operand*) -> Check {
    if (o.kind == Operand::Kind::kPath) return resolve_path(o.path, ctx);
    if (o.kind == Operand::Kind::kValue) return resolve_value(o, ctx);
    return std::nullopt;
  };
  if (Check c = walk_condition(root, resolve)) return c;

  auto arity = [](Operand& o, const Operand*) { return check_condition_function_arity(o); };
  if (Check c = walk_condition(root, arity)) return c;

  std::function<Check(Condition&)> distinct = [&](Condition& c) -> Check {
    if (c.kind == Condition::Kind::kCompare && same_path(c.operands[0], c.operands[1]))
      return distinct_error(cmp_text(c.cmp), c.operands[0]);
    auto fn = [](Operand& o, const Operand*) -> Check {
      if (o.kind == Operand::Kind::kFunction && o.args.size() == 2 &&
          same_path(o.args[0], o.args[1]))
        return distinct_error(o.function, o.args[0]);
      return std::nullopt;
    };
    for (Operand& o : c.operands)
      if (Check r = walk_operand(o, nullptr, fn)) return r;
    for (Condition& child : c.children)
      if (Check r = distinct(child)) return r;
    return std::nullopt;
  };
  if (Check c = distinct(root)) return c;

  std::function<Check(Condition&)> types = [&](Condition& c) -> Check {
    if (c.kind == Condition::Kind::kCompare && is_ordering(c.cmp)) {
      for (const Operand& o : c.operands)
        if (o.kind == Operand::Kind::kValue && !orderable(type_of(o.value)))
          return incorrect_operand_type(cmp_text(c.cmp), type_of(o.value));
    } else if (c.kind == Condition::Kind::kBetween) {
      for (const Operand& o : c.operands)
        if (o.kind == Operand::Kind::kValue && !orderable(type_of(o.value)))
          return incorrect_operand_type("BETWEEN", type_of(o.value));
      const Operand& lo = c.operands[1];
      const Operand& hi = c.operands[2];
      if (lo.kind == Operand::Kind::kValue && hi.kind == Operand::Kind::kValue) {
        std::string bounds = "lower bound operand: " + attribute_value_text(lo.value) +
                             ", upper bound operand: " + attribute_value_text(hi.value);
        if (type_of(lo.value) != type_of(hi.value))
          return "The BETWEEN operator requires same data type for lower and upper bounds; " +
                 bounds;
        auto order = compare_values(lo.value, hi.value);
        if (order && *order > 0)
          return "The BETWEEN operator requires upper bound to be greater than or equal to lower "
                 "bound; " +
                 bounds;
      }
    } else if (c.kind == Condition::Kind::kIn && c.operands.size() - 1 > kMaxInOperands) {
      return "The IN operator is provided with too many operands; number of operands: " +
             std::to_string(c.operands.size() - 1);
    }
    auto fn = [](Operand& o, const Operand*) { return check_condition_function_types(o); };
    for (Operand& o : c.operands)
      if (Check r = walk_operand(o, nullptr, fn)) return r;
    for (Condition& child : c.children)
      if (Check r = types(child)) return r;
    return std::nullopt;
  };
  return types(root);
}

std::string prefixed(std::string_view kind, std::string_view message) {
  return "Invalid " + std::string(kind) + ": " + std::string(message);
}

// Checks common to every expression before it is parsed.
Check check_text(std::string_view text) {
  if (text.empty()) return std::string("The expression can not be empty;");
  if (text.size() > kMaxExpressionBytes)
    return "Expression size has exceeded the maximum allowed size; expression size: " +
           std::to_string(text.size());
  return std::nullopt;
}

Result<std::unique_ptr<Condition>, std::string> parse_condition_tree(std::string_view text,
                                                                     ExpressionContext& ctx,
                                                                     std::string_view kind) {
  if (Check c = check_text(text)) return fail(prefixed(kind, *c));
  Parser parser(text, Grammar::kCondition);
  auto tree = parser.condition_expression();
  if (!tree) return fail(prefixed(kind, parser.error()));
  if (Check c = validate_condition(*tree, ctx, parser.redundant_parens()))
    return fail(prefixed(kind, *c));
  return std::make_unique<Condition>(std::move(*tree));
}

// Two paths of one update or projection may neither overlap (one is a prefix
// of the other) nor conflict (one indexes where the other names a key).
Check check_overlaps(const std::vector<const Path*>& paths) {
  Check conflict;
  for (size_t j = 1; j < paths.size(); ++j) {
    for (size_t i = 0; i < j; ++i) {
      const Path& a = *paths[i];
      const Path& b = *paths[j];
      size_t n = std::min(a.size(), b.size());
      bool differ = false;
      for (size_t k = 0; k < n; ++k) {
        if (a[k].index() != b[k].index()) {
          if (!conflict)
            conflict =
                "Two document paths conflict with each other; must remove or rewrite one "
                "of these paths; path one: " +
                path_to_string(a) + ", path two: " + path_to_string(b);
          differ = true;
          break;
        }
        if (a[k] != b[k]) {
          differ = true;
          break;
        }
      }
      if (!differ)
        return "Two document paths overlap with each other; must remove or rewrite one of these "
               "paths; path one: " +
               path_to_string(a) + ", path two: " + path_to_string(b);
    }
  }
  return conflict;
}

// ---------------------------------------------------------------------------
// Evaluation of conditions.

// An operand's value for one item: a pointer into the item or the expression,
// or a computed value (size()); empty when the attribute is missing.
class Val {
 public:
  Val() = default;
  explicit Val(const json::value* p) : ptr_(p) {}
  explicit Val(json::value owned) : owned_(std::move(owned)), has_owned_(true) {}
  const json::value* get() const { return has_owned_ ? &owned_ : ptr_; }

 private:
  const json::value* ptr_ = nullptr;
  json::value owned_;
  bool has_owned_ = false;
};

Val eval_operand(const Operand& o, const json::object& item) {
  switch (o.kind) {
    case Operand::Kind::kPath:
      return Val(find_path(item, o.path.resolved));
    case Operand::Kind::kValue:
      return Val(&o.value);
    case Operand::Kind::kFunction: {
      // Only size() survives validation as an operand.
      if (o.function != "size" || o.args.size() != 1) return Val();
      Val arg = eval_operand(o.args[0], item);
      if (!arg.get()) return Val();
      auto n = size_of(*arg.get());
      if (!n) return Val();
      return Val(number_value(std::to_string(*n)));
    }
  }
  return Val();
}

bool begins_with(const json::value& a, const json::value& b) {
  std::string_view t = type_of(a);
  if (t != type_of(b)) return false;
  if (t == "S") {
    auto x = payload_string(a), y = payload_string(b);
    return x && y && x->substr(0, y->size()) == *y;
  }
  if (t == "B") {
    auto x = bytes_of(*payload(a)), y = bytes_of(*payload(b));
    return x && y && x->compare(0, y->size(), *y) == 0 && x->size() >= y->size();
  }
  return false;
}

bool contains(const json::value& a, const json::value& b) {
  std::string_view ta = type_of(a), tb = type_of(b);
  if (ta.empty() || tb.empty()) return false;
  const json::value& pa = *payload(a);
  const json::value& pb = *payload(b);
  if (ta == "S" && tb == "S") {
    auto x = payload_string(a), y = payload_string(b);
    return x && y && x->find(*y) != std::string_view::npos;
  }
  if (ta == "B" && tb == "B") {
    auto x = bytes_of(pa), y = bytes_of(pb);
    return x && y && x->find(*y) != std::string::npos;
  }
  if (set_member_type(ta) == tb && pa.is_array()) return set_contains(tb, pa.get_array(), pb);
  if (ta == "L" && pa.is_array()) {
    const json::array& list = pa.get_array();
    return std::any_of(list.begin(), list.end(),
                       [&](const json::value& e) { return values_equal(e, b); });
  }
  return false;
}

bool eval_function(const Operand& f, const json::object& item) {
  const std::string& name = f.function;
  if (name == "attribute_exists") return find_path(item, f.args[0].path.resolved) != nullptr;
  if (name == "attribute_not_exists") return find_path(item, f.args[0].path.resolved) == nullptr;
  Val a = eval_operand(f.args[0], item);
  Val b = eval_operand(f.args[1], item);
  if (!a.get() || !b.get()) return false;
  if (name == "attribute_type") {
    auto want = payload_string(*b.get());
    return want && type_of(*a.get()) == *want;
  }
  if (name == "begins_with") return begins_with(*a.get(), *b.get());
  if (name == "contains") return contains(*a.get(), *b.get());
  return false;
}

bool eval_condition(const Condition& c, const json::object& item) {
  switch (c.kind) {
    case Condition::Kind::kAnd:
      return std::all_of(c.children.begin(), c.children.end(),
                         [&](const Condition& x) { return eval_condition(x, item); });
    case Condition::Kind::kOr:
      return std::any_of(c.children.begin(), c.children.end(),
                         [&](const Condition& x) { return eval_condition(x, item); });
    case Condition::Kind::kNot:
      return !eval_condition(c.children[0], item);
    case Condition::Kind::kFunction:
      return eval_function(c.operands[0], item);
    case Condition::Kind::kCompare: {
      Val a = eval_operand(c.operands[0], item);
      Val b = eval_operand(c.operands[1], item);
      // A missing attribute equals nothing, so it differs from everything.
      if (!a.get() || !b.get()) return c.cmp == Cmp::kNe;
      if (c.cmp == Cmp::kEq) return values_equal(*a.get(), *b.get());
      if (c.cmp == Cmp::kNe) return !values_equal(*a.get(), *b.get());
      auto order = compare_values(*a.get(), *b.get());
      if (!order) return false;
      switch (c.cmp) {
        case Cmp::kLt:
          return *order < 0;
        case Cmp::kLe:
          return *order <= 0;
        case Cmp::kGt:
          return *order > 0;
        case Cmp::kGe:
          return *order >= 0;
        default:
          return false;
      }
    }
    case Condition::Kind::kBetween: {
      Val v = eval_operand(c.operands[0], item);
      Val lo = eval_operand(c.operands[1], item);
      Val hi = eval_operand(c.operands[2], item);
      if (!v.get() || !lo.get() || !hi.get()) return false;
      auto a = compare_values(*v.get(), *lo.get());
      auto b = compare_values(*v.get(), *hi.get());
      return a && b && *a >= 0 && *b <= 0;
    }
    case Condition::Kind::kIn: {
      Val v = eval_operand(c.operands[0], item);
      if (!v.get()) return false;
      for (size_t i = 1; i < c.operands.size(); ++i) {
        Val x = eval_operand(c.operands[i], item);
        if (x.get() && values_equal(*v.get(), *x.get())) return true;
      }
      return false;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------
// Update: checks and application.

Check check_update_function(const Operand& f, const Operand* parent) {
  if (f.kind != Operand::Kind::kFunction) return std::nullopt;
  if (f.args.size() != 2)
    return "Incorrect number of operands for operator or function; operator or function: " +
           f.function + ", number of operands: " + std::to_string(f.args.size());
  // DynamoDB refuses list_append nested in another call, but accepts
  // list_append(if_not_exists(a, :empty), :tail).
  if (parent && f.function == "list_append")
    return std::string(
        "The function is not allowed to be used this way in an expression; function: "
        "list_append");
  if (f.function == "if_not_exists" && f.args[0].kind != Operand::Kind::kPath)
    return std::string(
        "Operator or function requires a document path; operator or function: if_not_exists");
  if (f.function == "list_append")
    for (const Operand& a : f.args)
      if (a.kind == Operand::Kind::kValue && type_of(a.value) != "L")
        return incorrect_operand_type("list_append", type_of(a.value));
  return std::nullopt;
}

template <class Fn>
Check walk_update_operands(Update& u, Fn& fn) {
  for (Action& a : u.actions) {
    if (a.left)
      if (Check c = walk_operand(*a.left, nullptr, fn)) return c;
    if (a.right)
      if (Check c = walk_operand(*a.right, nullptr, fn)) return c;
  }
  return std::nullopt;
}

// DynamoDB's order for updates (per dynalite, which follows DynamoDB here):
// reserved words, function names, repeated clauses, undefined names, undefined
// values, overlapping then conflicting paths, ADD/DELETE operand types, then
// function operands.
Check validate_update(Update& u, ExpressionContext& ctx) {
  auto reserved = [](Operand& o, const Operand*) -> Check {
    return o.kind == Operand::Kind::kPath ? check_reserved(o.path) : std::nullopt;
  };
  for (Action& a : u.actions) {
    if (Check c = check_reserved(a.path)) return c;
    if (a.left)
      if (Check c = walk_operand(*a.left, nullptr, reserved)) return c;
    if (a.right)
      if (Check c = walk_operand(*a.right, nullptr, reserved)) return c;
  }

  auto names = [](Operand& o, const Operand*) { return check_function_name(o, true); };
  if (Check c = walk_update_operands(u, names)) return c;

  for (size_t j = 1; j < u.clauses.size(); ++j)
    for (size_t i = 0; i < j; ++i)
      if (u.clauses[i] == u.clauses[j])
        return "The \"" + std::string(clause_text(u.clauses[j])) +
               "\" section can only be used once in an update expression;";

  auto nesting = [](Operand& o, const Operand*) -> Check {
    return o.kind == Operand::Kind::kPath ? check_nesting(o.path) : std::nullopt;
  };
  for (Action& a : u.actions)
    if (Check c = check_nesting(a.path)) return c;
  if (Check c = walk_update_operands(u, nesting)) return c;

  auto resolve_names = [&](Operand& o, const Operand*) -> Check {
    return o.kind == Operand::Kind::kPath ? resolve_path(o.path, ctx) : std::nullopt;
  };
  for (Action& a : u.actions) {
    if (Check c = resolve_path(a.path, ctx)) return c;
    if (a.left)
      if (Check c = walk_operand(*a.left, nullptr, resolve_names)) return c;
    if (a.right)
      if (Check c = walk_operand(*a.right, nullptr, resolve_names)) return c;
  }
  auto resolve_values = [&](Operand& o, const Operand*) -> Check {
    return o.kind == Operand::Kind::kValue ? resolve_value(o, ctx) : std::nullopt;
  };
  if (Check c = walk_update_operands(u, resolve_values)) return c;

  std::vector<const Path*> targets;
  for (const Action& a : u.actions) targets.push_back(&a.path.resolved);
  if (Check c = check_overlaps(targets)) return c;

  for (const Action& a : u.actions) {
    if (a.kind != Action::Kind::kAdd && a.kind != Action::Kind::kDelete) continue;
    std::string_view t = type_of(a.left->value);
    bool add = a.kind == Action::Kind::kAdd;
    bool ok = t == "SS" || t == "NS" || t == "BS" || (add && t == "N");
    if (!ok)
      return "Incorrect operand type for operator or function; operator: " +
             std::string(add ? "ADD" : "DELETE") +
             ", operand type: " + std::string(long_type_name(t)) + ", typeSet: ALLOWED_FOR_" +
             std::string(add ? "ADD" : "DELETE") + "_OPERAND";
  }

  auto functions = [](Operand& o, const Operand* parent) {
    return check_update_function(o, parent);
  };
  for (Action& a : u.actions) {
    if (a.left)
      if (Check c = walk_operand(*a.left, nullptr, functions)) return c;
    if (a.right)
      if (Check c = walk_operand(*a.right, nullptr, functions)) return c;
    if (a.op != 0)
      for (const Operand* o : {&*a.left, &*a.right})
        if (o->kind == Operand::Kind::kValue && type_of(o->value) != "N")
          return incorrect_operand_type(std::string(1, a.op), type_of(o->value));
  }
  return std::nullopt;
}

// Messages of a failed update; DynamoDB sends these without the
// "Invalid UpdateExpression: " prefix (as moto, tested against DynamoDB, has
// them).
constexpr std::string_view kMissingAttribute =
    "The provided expression refers to an attribute that does not exist in the item";
constexpr std::string_view kWrongType =
    "An operand in the update expression has an incorrect data type";
constexpr std::string_view kInvalidPath =
    "The document path provided in the update expression is invalid for update";

Result<json::value, std::string> eval_update_operand(const Operand& o, const json::object& item) {
  switch (o.kind) {
    case Operand::Kind::kValue:
      return o.value;
    case Operand::Kind::kPath: {
      const json::value* v = find_path(item, o.path.resolved);
      if (!v) return fail(std::string(kMissingAttribute));
      return *v;
    }
    case Operand::Kind::kFunction: {
      if (o.function == "if_not_exists") {
        if (const json::value* v = find_path(item, o.args[0].path.resolved)) return *v;
        return eval_update_operand(o.args[1], item);
      }
      // list_append
      auto a = eval_update_operand(o.args[0], item);
      if (!a.ok()) return a;
      auto b = eval_update_operand(o.args[1], item);
      if (!b.ok()) return b;
      if (type_of(*a) != "L" || type_of(*b) != "L" || !payload(*a)->is_array() ||
          !payload(*b)->is_array())
        return fail(std::string(kWrongType));
      json::array out = payload(*a)->get_array();
      for (const json::value& e : payload(*b)->get_array()) out.push_back(e);
      json::object list;
      list["L"] = std::move(out);
      return json::value(std::move(list));
    }
  }
  return fail(std::string(kWrongType));
}

Result<json::value, std::string> eval_set_value(const Action& a, const json::object& item) {
  auto left = eval_update_operand(*a.left, item);
  if (!left.ok() || a.op == 0) return left;
  auto right = eval_update_operand(*a.right, item);
  if (!right.ok()) return right;
  if (type_of(*left) != "N" || type_of(*right) != "N") return fail(std::string(kWrongType));
  auto x = number_of(*payload(*left));
  auto y = number_of(*payload(*right));
  if (!x || !y) return fail(std::string(kWrongType));
  auto sum = a.op == '+' ? x->add(*y) : x->subtract(*y);
  if (!sum.ok()) return fail(sum.error());
  return number_value(sum->to_string());
}

json::object* map_payload(json::value* v) {
  if (!v) return nullptr;
  json::object* o = v->if_object();
  if (!o || o->size() != 1) return nullptr;
  json::value* p = o->if_contains("M");
  return p ? p->if_object() : nullptr;
}

json::array* list_payload(json::value* v) {
  if (!v) return nullptr;
  json::object* o = v->if_object();
  if (!o || o->size() != 1) return nullptr;
  json::value* p = o->if_contains("L");
  return p ? p->if_array() : nullptr;
}

// The value at the first `n` steps of `path`, or null.
json::value* find_mutable(json::object& item, const Path& path, size_t n) {
  if (path.empty() || n == 0 || !std::holds_alternative<std::string>(path[0])) return nullptr;
  json::value* v = item.if_contains(std::get<std::string>(path[0]));
  for (size_t k = 1; v && k < n; ++k) {
    if (const auto* name = std::get_if<std::string>(&path[k])) {
      json::object* m = map_payload(v);
      v = m ? m->if_contains(*name) : nullptr;
    } else {
      json::array* l = list_payload(v);
      uint32_t i = std::get<uint32_t>(path[k]);
      v = l && i < l->size() ? &(*l)[i] : nullptr;
    }
  }
  return v;
}

// Writes `value` at `path`; a list index past the end appends. False when a
// parent is missing or of the wrong type.
bool set_at(json::object& item, const Path& path, json::value value) {
  if (path.size() == 1) {
    item[std::get<std::string>(path[0])] = std::move(value);
    return true;
  }
  json::value* parent = find_mutable(item, path, path.size() - 1);
  if (const auto* name = std::get_if<std::string>(&path.back())) {
    json::object* m = map_payload(parent);
    if (!m) return false;
    (*m)[*name] = std::move(value);
    return true;
  }
  json::array* l = list_payload(parent);
  if (!l) return false;
  uint32_t i = std::get<uint32_t>(path.back());
  if (i < l->size()) {
    (*l)[i] = std::move(value);
  } else {
    l->push_back(std::move(value));
  }
  return true;
}

// Removes the value at `path`: a missing leaf is fine, a missing or mistyped
// parent is not.
bool remove_at(json::object& item, const Path& path) {
  if (path.size() == 1) {
    item.erase(std::get<std::string>(path[0]));
    return true;
  }
  json::value* parent = find_mutable(item, path, path.size() - 1);
  if (const auto* name = std::get_if<std::string>(&path.back())) {
    json::object* m = map_payload(parent);
    if (!m) return false;
    m->erase(*name);
    return true;
  }
  json::array* l = list_payload(parent);
  if (!l) return false;
  uint32_t i = std::get<uint32_t>(path.back());
  if (i < l->size()) l->erase(l->begin() + i);
  return true;
}

bool parent_exists(json::object& item, const Path& path) {
  if (path.size() == 1) return true;
  json::value* parent = find_mutable(item, path, path.size() - 1);
  return std::holds_alternative<std::string>(path.back()) ? map_payload(parent) != nullptr
                                                          : list_payload(parent) != nullptr;
}

// Path order for applying actions: names before indexes at a step, indexes
// numerically, a prefix first.
bool path_less(const Path& a, const Path& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t k = 0; k < n; ++k) {
    if (a[k].index() != b[k].index()) return a[k].index() < b[k].index();
    if (a[k] != b[k]) return a[k] < b[k];
  }
  return a.size() < b.size();
}

// ADD of a number or set to the value at `path` (absent: starts from zero or
// the empty set).
Result<void, std::string> add_at(json::object& item, const Path& path, const json::value& operand) {
  json::value* target = find_mutable(item, path, path.size());
  std::string_view t = type_of(operand);
  if (!target) {
    if (!parent_exists(item, path)) return fail(std::string(kInvalidPath));
    json::value fresh = operand;
    if (t == "N") {
      auto n = number_of(*payload(operand));
      if (!n) return fail(std::string(kWrongType));
      fresh = number_value(n->to_string());
    }
    set_at(item, path, std::move(fresh));
    return {};
  }
  if (type_of(*target) != t) return fail(std::string(kWrongType));
  if (t == "N") {
    auto x = number_of(*payload(*target));
    auto y = number_of(*payload(operand));
    if (!x || !y) return fail(std::string(kWrongType));
    auto sum = x->add(*y);
    if (!sum.ok()) return fail(sum.error());
    *target = number_value(sum->to_string());
    return {};
  }
  json::value* set = target->as_object().if_contains(t);
  const json::value* more = payload(operand);
  if (!set || !set->is_array() || !more || !more->is_array()) return fail(std::string(kWrongType));
  std::string_view member = set_member_type(t);
  json::array& members = set->get_array();
  std::unordered_set<std::string> present = member_keys(member, members);
  for (const json::value& m : more->get_array())
    if (present.insert(member_key(member, m)).second) members.push_back(m);
  return {};
}

// DELETE of set members; true in `emptied` when the set is left empty (the
// caller removes the attribute: DynamoDB has no empty sets).
Result<void, std::string> delete_at(json::object& item, const Path& path,
                                    const json::value& operand, bool& emptied) {
  emptied = false;
  json::value* target = find_mutable(item, path, path.size());
  if (!target) return {};
  std::string_view t = type_of(operand);
  if (type_of(*target) != t) return fail(std::string(kWrongType));
  json::value* set = target->as_object().if_contains(t);
  const json::value* less = payload(operand);
  if (!set || !set->is_array() || !less || !less->is_array()) return fail(std::string(kWrongType));
  std::string_view member = set_member_type(t);
  std::unordered_set<std::string> gone = member_keys(member, less->get_array());
  json::array kept;
  for (const json::value& m : set->get_array())
    if (!gone.count(member_key(member, m))) kept.push_back(m);
  emptied = kept.empty();
  set->get_array() = std::move(kept);
  return {};
}

// ---------------------------------------------------------------------------
// Key conditions.

struct KeyPart {
  std::string attribute;
  SortKeyCondition cond;  // the operator and values, attribute on the left
};

// Walks the validated condition the way DynamoDB checks a key condition:
// operators first, then each comparison's operands, left to right.
Check collect_key_parts(const Condition& c, std::vector<KeyPart>& parts) {
  const std::string prefix = "Invalid operator used in KeyConditionExpression: ";
  switch (c.kind) {
    case Condition::Kind::kOr:
      return prefix + "OR";
    case Condition::Kind::kNot:
      return prefix + "NOT";
    case Condition::Kind::kIn:
      return prefix + "IN";
    case Condition::Kind::kAnd:
      for (const Condition& child : c.children)
        if (Check r = collect_key_parts(child, parts)) return r;
      return std::nullopt;
    default:
      break;
  }
  if (c.kind == Condition::Kind::kCompare && c.cmp == Cmp::kNe) return prefix + "<>";
  const std::vector<Operand>* operands = &c.operands;
  std::string_view what = "BETWEEN";
  if (c.kind == Condition::Kind::kFunction) {
    const Operand& f = c.operands[0];
    if (f.function != "begins_with") {
      if (f.function == "size")
        return std::string("KeyConditionExpressions cannot contain nested operations");
      return prefix + f.function;
    }
    operands = &f.args;
    what = "begins_with";
  }
  if ((c.kind == Condition::Kind::kBetween || c.kind == Condition::Kind::kFunction) &&
      (*operands)[0].kind != Operand::Kind::kPath)
    return "Invalid condition in KeyConditionExpression: " + std::string(what) +
           " operator must have the key attribute as its first operand";
  const Operand* key = nullptr;
  size_t key_at = 0;
  for (size_t i = 0; i < operands->size(); ++i) {
    const Operand& o = (*operands)[i];
    if (o.kind == Operand::Kind::kPath) {
      if (key)
        return std::string(
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one "
            "condition");
      if (o.path.resolved.size() > 1)
        return std::string("KeyConditionExpressions cannot have conditions on nested attributes");
      key = &o;
      key_at = i;
    } else if (o.kind == Operand::Kind::kFunction) {
      return std::string("KeyConditionExpressions cannot contain nested operations");
    }
  }
  if (!key)
    return std::string("Invalid condition in KeyConditionExpression: No key attribute specified");
  const std::string& name = std::get<std::string>(key->path.resolved[0]);
  for (const KeyPart& p : parts)
    if (p.attribute == name)
      return std::string("KeyConditionExpressions must only contain one condition per key");
  KeyPart part;
  part.attribute = name;
  using Op = SortKeyCondition::Op;
  if (c.kind == Condition::Kind::kFunction) {
    part.cond.op = Op::kBeginsWith;
    part.cond.value = (*operands)[1].value;
  } else if (c.kind == Condition::Kind::kBetween) {
    part.cond.op = Op::kBetween;
    part.cond.value = (*operands)[1].value;
    part.cond.upper = (*operands)[2].value;
  } else {
    // ":v < k" is k > :v.
    bool flip = key_at == 1;
    switch (c.cmp) {
      case Cmp::kLt:
        part.cond.op = flip ? Op::kGt : Op::kLt;
        break;
      case Cmp::kLe:
        part.cond.op = flip ? Op::kGe : Op::kLe;
        break;
      case Cmp::kGt:
        part.cond.op = flip ? Op::kLt : Op::kGt;
        break;
      case Cmp::kGe:
        part.cond.op = flip ? Op::kLe : Op::kGe;
        break;
      default:
        part.cond.op = Op::kEq;
        break;
    }
    part.cond.value = (*operands)[flip ? 0 : 1].value;
  }
  parts.push_back(std::move(part));
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Projection.

// The parts of an item selected by several paths, before they become JSON.
// A node knows how its parent reaches it (map key or list index); there are
// few paths, so children are found by linear search.
struct ProjectionNode {
  std::string name;
  uint32_t index = 0;
  const json::value* leaf = nullptr;
  bool is_list = false;
  std::vector<ProjectionNode> children;

  ProjectionNode& field(const std::string& key) {
    for (ProjectionNode& c : children)
      if (c.name == key) return c;
    children.emplace_back().name = key;
    return children.back();
  }
  ProjectionNode& element(uint32_t i) {
    is_list = true;
    for (ProjectionNode& c : children)
      if (c.index == i) return c;
    children.emplace_back().index = i;
    return children.back();
  }

  json::value to_json() const {
    if (leaf) return *leaf;
    json::object out;
    if (is_list) {
      std::vector<const ProjectionNode*> sorted;
      for (const ProjectionNode& c : children) sorted.push_back(&c);
      std::sort(sorted.begin(), sorted.end(), [](const ProjectionNode* x, const ProjectionNode* y) {
        return x->index < y->index;
      });
      json::array list;
      for (const ProjectionNode* c : sorted) list.push_back(c->to_json());
      out["L"] = std::move(list);
    } else {
      json::object map;
      for (const ProjectionNode& c : children) map[c.name] = c.to_json();
      out["M"] = std::move(map);
    }
    return out;
  }
};

}  // namespace

// ---------------------------------------------------------------------------
// Public functions.

std::string path_to_string(const Path& path) {
  std::string out = "[";
  for (size_t i = 0; i < path.size(); ++i) {
    if (i) out += ", ";
    if (const auto* name = std::get_if<std::string>(&path[i])) {
      out += *name;
    } else {
      out += "[" + std::to_string(std::get<uint32_t>(path[i])) + "]";
    }
  }
  return out + "]";
}

const json::value* find_path(const json::object& item, const Path& path) {
  if (path.empty() || !std::holds_alternative<std::string>(path[0])) return nullptr;
  const json::value* v = item.if_contains(std::get<std::string>(path[0]));
  for (size_t k = 1; v && k < path.size(); ++k) {
    const json::object* o = v->if_object();
    if (!o || o->size() != 1) return nullptr;
    if (const auto* name = std::get_if<std::string>(&path[k])) {
      const json::value* m = o->if_contains("M");
      v = m && m->is_object() ? m->get_object().if_contains(*name) : nullptr;
    } else {
      const json::value* l = o->if_contains("L");
      uint32_t i = std::get<uint32_t>(path[k]);
      v = l && l->is_array() && i < l->get_array().size() ? &l->get_array()[i] : nullptr;
    }
  }
  return v;
}

json::object project(const json::object& item, const std::vector<Path>& paths) {
  ProjectionNode root;
  for (const Path& path : paths) {
    const json::value* v = find_path(item, path);
    if (!v) continue;
    ProjectionNode* node = &root.field(std::get<std::string>(path[0]));
    for (size_t k = 1; k < path.size() && !node->leaf; ++k) {
      if (const auto* name = std::get_if<std::string>(&path[k])) {
        node = &node->field(*name);
      } else {
        node = &node->element(std::get<uint32_t>(path[k]));
      }
    }
    // A path inside one already taken whole adds nothing, and one taken whole
    // after parts of it keeps the parts (only when the caller passes
    // overlapping paths, which parsing refuses).
    if (!node->leaf && node->children.empty()) node->leaf = v;
  }
  json::object out;
  for (const ProjectionNode& c : root.children) out[c.name] = c.to_json();
  return out;
}

std::optional<std::strong_ordering> compare_values(const json::value& a, const json::value& b) {
  std::string_view t = type_of(a);
  if (t != type_of(b) || !orderable(t)) return std::nullopt;
  const json::value& pa = *payload(a);
  const json::value& pb = *payload(b);
  if (!pa.is_string() || !pb.is_string()) return std::nullopt;
  if (t == "S") return std::string_view(pa.get_string()) <=> std::string_view(pb.get_string());
  if (t == "N") {
    auto x = number_of(pa), y = number_of(pb);
    if (!x || !y) return std::nullopt;
    return *x <=> *y;
  }
  auto x = bytes_of(pa), y = bytes_of(pb);
  if (!x || !y) return std::nullopt;
  return std::string_view(*x) <=> std::string_view(*y);
}

bool values_equal(const json::value& a, const json::value& b) {
  std::string_view t = type_of(a);
  if (t.empty() || t != type_of(b)) return false;
  const json::value& pa = *payload(a);
  const json::value& pb = *payload(b);
  if (t == "S" || t == "N" || t == "B") return scalar_payload_equal(t, pa, pb);
  if (t == "BOOL") return pa.is_bool() && pb.is_bool() && pa.get_bool() == pb.get_bool();
  if (t == "NULL") return true;
  if (!set_member_type(t).empty()) {
    if (!pa.is_array() || !pb.is_array() || pa.get_array().size() != pb.get_array().size())
      return false;
    std::string_view member = set_member_type(t);
    return member_keys(member, pa.get_array()) == member_keys(member, pb.get_array());
  }
  if (t == "L") {
    if (!pa.is_array() || !pb.is_array()) return false;
    const json::array& x = pa.get_array();
    const json::array& y = pb.get_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!values_equal(x[i], y[i])) return false;
    return true;
  }
  if (t == "M") {
    if (!pa.is_object() || !pb.is_object()) return false;
    const json::object& x = pa.get_object();
    const json::object& y = pb.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      const json::value* other = y.if_contains(kv.key());
      if (!other || !values_equal(kv.value(), *other)) return false;
    }
    return true;
  }
  return false;
}

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

// ---- ConditionExpression ----

ConditionExpression::ConditionExpression(std::unique_ptr<detail::Condition> root)
    : root_(std::move(root)) {}
ConditionExpression::ConditionExpression(ConditionExpression&&) noexcept = default;
ConditionExpression& ConditionExpression::operator=(ConditionExpression&&) noexcept = default;
ConditionExpression::~ConditionExpression() = default;

Result<ConditionExpression, std::string> ConditionExpression::parse(std::string_view text,
                                                                    ExpressionContext& ctx,
                                                                    std::string_view kind) {
  auto tree = parse_condition_tree(text, ctx, kind);
  if (!tree.ok()) return fail(tree.take_error());
  return ConditionExpression(std::move(tree).value());
}

bool ConditionExpression::evaluate(const json::object& item) const {
  return eval_condition(*root_, item);
}

std::set<std::string> ConditionExpression::top_level_attributes() const {
  std::set<std::string> out;
  walk_paths(*root_, [&](ParsedPath& p) -> Check {
    if (!p.resolved.empty()) out.insert(std::get<std::string>(p.resolved[0]));
    return std::nullopt;
  });
  return out;
}

// ---- Key conditions ----

bool SortKeyCondition::matches(const json::value& v) const {
  if (op == Op::kBeginsWith) return begins_with(v, value);
  auto order = compare_values(v, value);
  if (!order) return false;
  switch (op) {
    case Op::kEq:
      return *order == 0;
    case Op::kLt:
      return *order < 0;
    case Op::kLe:
      return *order <= 0;
    case Op::kGt:
      return *order > 0;
    case Op::kGe:
      return *order >= 0;
    case Op::kBetween: {
      auto upper_order = compare_values(v, upper);
      return *order >= 0 && upper_order && *upper_order <= 0;
    }
    case Op::kBeginsWith:
      break;
  }
  return false;
}

Result<KeyCondition, std::string> parse_key_condition(std::string_view text, ExpressionContext& ctx,
                                                      const KeyAttribute& hash,
                                                      const std::optional<KeyAttribute>& range) {
  auto tree = parse_condition_tree(text, ctx, "KeyConditionExpression");
  if (!tree.ok()) return fail(tree.take_error());
  std::vector<KeyPart> parts;
  if (Check c = collect_key_parts(**tree, parts)) return fail(*c);
  if (parts.size() > 2) return fail(std::string("Conditions can be of length 1 or 2 only"));

  // The schema checks, in the order DynamoDB applies them per key attribute.
  const std::string kNotSupported = "Query key condition not supported";
  const std::string kTypeMismatch =
      "One or more parameter values were invalid: Condition parameter type does not match "
      "schema type";
  auto find = [&](const std::string& name) -> const KeyPart* {
    for (const KeyPart& p : parts)
      if (p.attribute == name) return &p;
    return nullptr;
  };
  auto type_matches = [](const KeyPart& p, KeyType key_type) {
    const char type[2] = {static_cast<char>(key_type), 0};
    if (type_of(p.cond.value) != type) return false;
    return p.cond.op != SortKeyCondition::Op::kBetween || type_of(p.cond.upper) == type;
  };
  if (!range && parts.size() > 1) return fail(kNotSupported);
  const KeyPart* partition = find(hash.name);
  if (!partition) return fail("Query condition missed key schema element: " + hash.name);
  if (!type_matches(*partition, hash.type)) return fail(kTypeMismatch);
  if (partition->cond.op != SortKeyCondition::Op::kEq) return fail(kNotSupported);
  KeyCondition out;
  out.partition_value = partition->cond.value;
  if (range) {
    const KeyPart* sort = find(range->name);
    if (!sort) {
      if (parts.size() > 1)
        return fail("Query condition missed key schema element: " + range->name);
    } else {
      if (!type_matches(*sort, range->type)) return fail(kTypeMismatch);
      out.sort = sort->cond;
    }
  }
  return out;
}

// ---- ProjectionExpression ----

Result<ProjectionExpression, std::string> ProjectionExpression::parse(std::string_view text,
                                                                      ExpressionContext& ctx) {
  constexpr std::string_view kKind = "ProjectionExpression";
  if (Check c = check_text(text)) return fail(prefixed(kKind, *c));
  Parser parser(text, Grammar::kProjection);
  auto parsed = parser.projection_expression();
  if (!parsed) return fail(prefixed(kKind, parser.error()));
  for (ParsedPath& p : *parsed)
    if (Check c = check_reserved(p)) return fail(prefixed(kKind, *c));
  for (ParsedPath& p : *parsed)
    if (Check c = check_nesting(p)) return fail(prefixed(kKind, *c));
  for (ParsedPath& p : *parsed)
    if (Check c = resolve_path(p, ctx)) return fail(prefixed(kKind, *c));
  std::vector<const Path*> all;
  for (const ParsedPath& p : *parsed) all.push_back(&p.resolved);
  if (Check c = check_overlaps(all)) return fail(prefixed(kKind, *c));
  std::vector<Path> paths;
  for (ParsedPath& p : *parsed) paths.push_back(std::move(p.resolved));
  return ProjectionExpression(std::move(paths));
}

// ---- UpdateExpression ----

UpdateExpression::UpdateExpression(std::unique_ptr<detail::Update> update)
    : update_(std::move(update)) {}
UpdateExpression::UpdateExpression(UpdateExpression&&) noexcept = default;
UpdateExpression& UpdateExpression::operator=(UpdateExpression&&) noexcept = default;
UpdateExpression::~UpdateExpression() = default;

Result<UpdateExpression, std::string> UpdateExpression::parse(std::string_view text,
                                                              ExpressionContext& ctx) {
  constexpr std::string_view kKind = "UpdateExpression";
  if (Check c = check_text(text)) return fail(prefixed(kKind, *c));
  Parser parser(text, Grammar::kUpdate);
  auto parsed = parser.update_expression();
  if (!parsed) return fail(prefixed(kKind, parser.error()));
  if (Check c = validate_update(*parsed, ctx)) return fail(prefixed(kKind, *c));
  return UpdateExpression(std::make_unique<Update>(std::move(*parsed)));
}

std::vector<Path> UpdateExpression::target_paths() const {
  std::vector<Path> out;
  for (const Action& a : update_->actions) out.push_back(a.path.resolved);
  return out;
}

std::optional<std::string> UpdateExpression::key_update_error(
    const KeyAttribute& hash, const std::optional<KeyAttribute>& range) const {
  for (const Action& a : update_->actions) {
    const std::string& top = std::get<std::string>(a.path.resolved[0]);
    if (top == hash.name || (range && top == range->name))
      return "One or more parameter values were invalid: Cannot update attribute " + top +
             ". This attribute is part of the key";
  }
  return std::nullopt;
}

Result<UpdateExpression::Outcome, std::string> UpdateExpression::apply(const json::object& item,
                                                                       bool item_exists) const {
  Outcome out;
  out.item = item;
  const std::vector<Action>& actions = update_->actions;

  // Every SET value is read from the item as it was before the update.
  std::vector<std::pair<const Action*, json::value>> sets;
  for (const Action& a : actions) {
    if (a.kind != Action::Kind::kSet) continue;
    auto v = eval_set_value(a, item);
    if (!v.ok()) return fail(v.take_error());
    sets.emplace_back(&a, std::move(v).value());
  }
  // List indexes name positions in the original list: replace in place and
  // append (in index order) first, remove last, highest index first.
  std::stable_sort(sets.begin(), sets.end(), [](const auto& x, const auto& y) {
    return path_less(x.first->path.resolved, y.first->path.resolved);
  });
  for (auto& [action, value] : sets)
    if (!set_at(out.item, action->path.resolved, std::move(value)))
      return fail(std::string(kInvalidPath));

  std::vector<const Path*> removals;
  for (const Action& a : actions) {
    const Path& path = a.path.resolved;
    if (a.kind == Action::Kind::kAdd) {
      auto r = add_at(out.item, path, a.left->value);
      if (!r.ok()) return fail(r.take_error());
    } else if (a.kind == Action::Kind::kDelete) {
      if (item_exists && !parent_exists(out.item, path)) return fail(std::string(kInvalidPath));
      bool emptied = false;
      auto r = delete_at(out.item, path, a.left->value, emptied);
      if (!r.ok()) return fail(r.take_error());
      if (emptied) removals.push_back(&path);
    } else if (a.kind == Action::Kind::kRemove) {
      removals.push_back(&path);
    }
  }
  std::stable_sort(removals.begin(), removals.end(),
                   [](const Path* x, const Path* y) { return path_less(*y, *x); });
  for (const Path* path : removals)
    if (!remove_at(out.item, *path) && item_exists) return fail(std::string(kInvalidPath));

  for (const Action& a : actions) out.changed.insert(std::get<std::string>(a.path.resolved[0]));
  return out;
}

}  // namespace nimbus::services::dynamodb
