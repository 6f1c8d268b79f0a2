// DynamoDB's PartiQL, lexing: the UTF-8 checks, PartiQL's keywords, case
// folding, the lexer that cuts a statement into tokens, and the
// "at <line>:<column>:<length>" positions that messages cite.
#include "services/dynamodb/partiql.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <unordered_set>

#include "services/dynamodb/partiql_internal.h"

namespace nimbus::services::dynamodb {

using partiql::SourceSpan;
using namespace partiql::detail;

namespace partiql::detail {

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

// ASCII case folding (keywords, type and function names).
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

}  // namespace partiql::detail

namespace {

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

// ---------------------------------------------------------------------------
// Lexer.

bool ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool ident_char(char c) {
  return ident_start(c) || (c >= '0' && c <= '9');
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

}  // namespace

namespace partiql::detail {

bool digit(char c) {
  return c >= '0' && c <= '9';
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

}  // namespace partiql::detail

}  // namespace nimbus::services::dynamodb
