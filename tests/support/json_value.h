// A small, strict JSON reader for tests that check files the project writes
// (timelines): parse_json throws std::runtime_error, with the offset, on
// anything that is not one complete JSON value.
#pragma once

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tutorial::testdata {

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<JsonValue> items;
  std::map<std::string, JsonValue> members;

  bool has(const std::string& key) const { return members.count(key) > 0; }
  // The member `key` of an object; throws if there is none.
  const JsonValue& operator[](const std::string& key) const {
    const auto it = members.find(key);
    if (kind != Kind::kObject || it == members.end()) {
      throw std::runtime_error("no member \"" + key + "\"");
    }
    return it->second;
  }
};

namespace json_detail {

class Reader {
 public:
  explicit Reader(const std::string& text) : text_(text) {}

  JsonValue document() {
    JsonValue value = next_value();
    skip_space();
    if (at_ < text_.size()) fail("text after the value");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("invalid JSON at offset " + std::to_string(at_) + ": " + what);
  }
  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n' ||
                                  text_[at_] == '\r' || text_[at_] == '\t')) {
      ++at_;
    }
  }
  void expect(char c) {
    skip_space();
    if (at_ >= text_.size() || text_[at_] != c) fail(std::string("expected '") + c + "'");
    ++at_;
  }
  bool take(char c) {
    skip_space();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  bool take_word(const char* word) {
    const std::string w(word);
    if (text_.compare(at_, w.size(), w) != 0) return false;
    at_ += w.size();
    return true;
  }

  std::string next_string() {
    expect('"');
    std::string s;
    while (true) {
      if (at_ >= text_.size()) fail("unterminated string");
      const char c = text_[at_++];
      if (c == '"') return s;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        s += c;
        continue;
      }
      if (at_ >= text_.size()) fail("unterminated escape");
      const char e = text_[at_++];
      switch (e) {
        case '"': case '\\': case '/': s += e; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'u': {
          if (at_ + 4 > text_.size()) fail("short \\u escape");
          const auto code = std::strtoul(text_.substr(at_, 4).c_str(), nullptr, 16);
          at_ += 4;
          s += code < 0x80 ? static_cast<char>(code) : '?';  // tests need ASCII only
          break;
        }
        default: fail("unknown escape");
      }
    }
  }

  JsonValue next_value() {
    skip_space();
    if (at_ >= text_.size()) fail("expected a value");
    JsonValue v;
    const char c = text_[at_];
    if (c == '{') {
      ++at_;
      v.kind = JsonValue::Kind::kObject;
      if (take('}')) return v;
      do {
        std::string key = next_string();
        expect(':');
        v.members[key] = next_value();
      } while (take(','));
      expect('}');
    } else if (c == '[') {
      ++at_;
      v.kind = JsonValue::Kind::kArray;
      if (take(']')) return v;
      do {
        v.items.push_back(next_value());
      } while (take(','));
      expect(']');
    } else if (c == '"') {
      v.kind = JsonValue::Kind::kString;
      v.text = next_string();
    } else if (take_word("true") || take_word("false")) {
      v.kind = JsonValue::Kind::kBool;
      v.boolean = c == 't';
    } else if (take_word("null")) {
      v.kind = JsonValue::Kind::kNull;
    } else {
      const char* begin = text_.c_str() + at_;
      char* end = nullptr;
      v.kind = JsonValue::Kind::kNumber;
      v.number = std::strtod(begin, &end);
      if (end == begin || !(c == '-' || (c >= '0' && c <= '9'))) fail("expected a value");
      at_ += static_cast<size_t>(end - begin);
    }
    return v;
  }

  const std::string& text_;
  size_t at_ = 0;
};

}  // namespace json_detail

inline JsonValue parse_json(const std::string& text) {
  return json_detail::Reader(text).document();
}

// The JSON value in the file at `path` (an unreadable file reads as empty: invalid).
inline JsonValue read_json_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_json(text.str());
}

}  // namespace tutorial::testdata
