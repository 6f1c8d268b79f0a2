// JSON text written straight into a string, for hot paths where building a
// boost::json value only to serialise it costs more than the text itself (the
// gateway's proxy events).
//
// Strings come out exactly as boost::json::serialize writes them, so the two
// can be mixed (raw() takes a value boost serialised): '"' and '\\' are
// escaped, control characters become \b \t \n \f \r or \u00xx (lower-case
// hex), and every other byte, '/', DEL and non-ASCII UTF-8 included, passes
// through unchanged. No validation: the caller writes a well-formed sequence
// (a key before each member, matching begin/end calls); the writer places the
// commas and colons.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace nimbus {

class JsonWriter {
 public:
  // `reserve`: the expected length of the text (it grows past it if needed).
  explicit JsonWriter(size_t reserve = 256) { buf_.resize(reserve); }

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  void key(std::string_view name) {
    begin_string();
    string_part(name);
    end_key();
  }
  void string(std::string_view s) {
    begin_string();
    string_part(s);
    end_string();
  }
  // key(name) then string(value).
  void member(std::string_view name, std::string_view value) {
    key(name);
    string(value);
  }
  void null() { literal("null"); }
  void boolean(bool b) { literal(b ? std::string_view("true") : std::string_view("false")); }
  void number(int64_t n);
  // A value that is already JSON text (e.g. from boost::json::serialize).
  void raw(std::string_view json) { literal(json); }

  // A string written in pieces: begin_string(), string_part()..., then
  // end_string() for a value or end_key() for a member name.
  void begin_string() { open('"'); }
  void string_part(std::string_view s);
  void end_string() { close('"'); }
  void end_key() {
    append("\":", 2);
    comma_ = false;
  }

  std::string_view text() const { return std::string_view(buf_.data(), len_); }
  std::string take() {
    buf_.resize(len_);
    len_ = 0;
    return std::move(buf_);
  }

 private:
  // Room for n more bytes.
  void ensure(size_t n) {
    if (buf_.size() - len_ < n) grow(n);
  }
  void grow(size_t n);
  void append(const char* s, size_t n) {
    ensure(n);
    std::memcpy(buf_.data() + len_, s, n);
    len_ += n;
  }
  // A ',' first when a value or key came before at this level.
  void open(char c) {
    ensure(2);
    if (comma_) buf_[len_++] = ',';
    buf_[len_++] = c;
    comma_ = false;
  }
  void close(char c) {
    ensure(1);
    buf_[len_++] = c;
    comma_ = true;
  }
  void literal(std::string_view s) {
    if (comma_) append(",", 1);
    append(s.data(), s.size());
    comma_ = true;
  }

  std::string buf_;  // the text is its first len_ bytes
  size_t len_ = 0;
  bool comma_ = false;
};

}  // namespace nimbus
