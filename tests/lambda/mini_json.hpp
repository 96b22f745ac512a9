#pragma once
// A strict little JSON reader for the Lambda tests: checks that what the bootstrap writes (error
// documents, EMF lines) is valid JSON and lets the test look inside. Test code only.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mini_json {

struct Value {
  enum class Kind { null, boolean, number, string, array, object } kind = Kind::null;
  bool b = false;
  double n = 0;
  std::string s;
  std::vector<Value> items;
  std::map<std::string, Value> fields;

  const Value* get(const std::string& key) const {
    auto it = fields.find(key);
    return kind == Kind::object && it != fields.end() ? &it->second : nullptr;
  }
  bool is_string() const { return kind == Kind::string; }
  bool is_number() const { return kind == Kind::number; }
};

class Parser {
 public:
  explicit Parser(std::string_view text) : t_(text) {}
  // Whole text must be one value (surrounding whitespace allowed).
  bool parse(Value& out) {
    ws();
    if (!value(out, 0)) return false;
    ws();
    return i_ == t_.size();
  }

 private:
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t')) ++i_;
  }
  bool lit(std::string_view w) {
    if (t_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool value(Value& v, int depth) {
    if (depth > 64 || i_ >= t_.size()) return false;
    char c = t_[i_];
    if (c == '{') return object(v, depth);
    if (c == '[') return array(v, depth);
    if (c == '"') {
      v.kind = Value::Kind::string;
      return string(v.s);
    }
    if (c == 't' || c == 'f') {
      v.kind = Value::Kind::boolean;
      v.b = c == 't';
      return lit(v.b ? "true" : "false");
    }
    if (c == 'n') return lit("null");
    return number(v);
  }
  bool number(Value& v) {
    std::size_t start = i_;
    if (i_ < t_.size() && t_[i_] == '-') ++i_;
    std::size_t digits = i_;
    while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
    if (i_ == digits || (t_[digits] == '0' && i_ - digits > 1)) return false;
    if (i_ < t_.size() && t_[i_] == '.') {
      std::size_t f = ++i_;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
      if (i_ == f) return false;
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      std::size_t e = i_;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
      if (i_ == e) return false;
    }
    v.kind = Value::Kind::number;
    v.n = std::stod(std::string(t_.substr(start, i_ - start)));
    return true;
  }
  bool string(std::string& out) {
    ++i_;  // opening quote
    while (i_ < t_.size()) {
      unsigned char c = static_cast<unsigned char>(t_[i_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (i_ >= t_.size()) return false;
      char e = t_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          if (i_ + 4 > t_.size()) return false;
          for (int k = 0; k < 4; ++k) {
            char h = t_[i_ + static_cast<std::size_t>(k)];
            bool hex = (h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F');
            if (!hex) return false;
          }
          out += '?';  // the tests only need to know it was a valid escape
          i_ += 4;
          break;
        }
        default: return false;
      }
    }
    return false;
  }
  bool array(Value& v, int depth) {
    v.kind = Value::Kind::array;
    ++i_;
    ws();
    if (i_ < t_.size() && t_[i_] == ']') return ++i_, true;
    for (;;) {
      Value item;
      ws();
      if (!value(item, depth + 1)) return false;
      v.items.push_back(std::move(item));
      ws();
      if (i_ >= t_.size()) return false;
      if (t_[i_] == ']') return ++i_, true;
      if (t_[i_++] != ',') return false;
    }
  }
  bool object(Value& v, int depth) {
    v.kind = Value::Kind::object;
    ++i_;
    ws();
    if (i_ < t_.size() && t_[i_] == '}') return ++i_, true;
    for (;;) {
      ws();
      std::string key;
      if (i_ >= t_.size() || t_[i_] != '"' || !string(key)) return false;
      if (v.fields.count(key)) return false;  // duplicate keys: CloudWatch would pick one silently
      ws();
      if (i_ >= t_.size() || t_[i_++] != ':') return false;
      ws();
      Value item;
      if (!value(item, depth + 1)) return false;
      v.fields.emplace(std::move(key), std::move(item));
      ws();
      if (i_ >= t_.size()) return false;
      if (t_[i_] == '}') return ++i_, true;
      if (t_[i_++] != ',') return false;
    }
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

inline bool parse(std::string_view text, Value& out) { return Parser(text).parse(out); }

}  // namespace mini_json
