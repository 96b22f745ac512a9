#pragma once
// A small strict JSON reader for tests (RFC 8259): objects, arrays, strings with escapes, numbers,
// true/false/null. Tests use it to parse what the exporters and the Lambda runtime print back into
// values they can check, instead of matching substrings.
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace svcres_test {

struct Json {
  enum class Kind { null, boolean, number, string, array, object } kind = Kind::null;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Json> items;
  std::map<std::string, Json> members;

  const Json& operator[](const std::string& k) const {
    static const Json missing;
    auto it = members.find(k);
    return it == members.end() ? missing : it->second;
  }
  bool has(const std::string& k) const { return members.count(k) != 0; }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}
  // Returns false on any syntax error or trailing garbage.
  bool parse(Json& out) {
    ws();
    if (!value(out, 0)) return false;
    ws();
    return i_ == s_.size();
  }

 private:
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool lit(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool value(Json& v, int depth) {
    if (depth > 64 || i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '{') return object(v, depth);
    if (c == '[') return array(v, depth);
    if (c == '"') {
      v.kind = Json::Kind::string;
      return string(v.str);
    }
    if (lit("true")) { v.kind = Json::Kind::boolean; v.b = true; return true; }
    if (lit("false")) { v.kind = Json::Kind::boolean; v.b = false; return true; }
    if (lit("null")) { v.kind = Json::Kind::null; return true; }
    return number(v);
  }
  bool digits() {
    std::size_t from = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > from;
  }
  // RFC 8259 §6 grammar checked by hand first: strtod also takes forms JSON does not ("1.", "1.e3").
  bool number(Json& v) {
    std::size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    std::size_t int_start = i_;
    if (!digits() || (s_[int_start] == '0' && i_ - int_start > 1)) return false;
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digits()) return false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return false;
    }
    std::string text(s_.substr(start, i_ - start));
    v.num = std::strtod(text.c_str(), nullptr);
    v.kind = Json::Kind::number;
    return true;
  }
  bool string(std::string& out) {
    ++i_;  // opening quote
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          if (i_ + 4 > s_.size()) return false;
          for (std::size_t k = i_; k < i_ + 4; ++k) {
            const char h = s_[k];
            if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) return false;
          }
          unsigned cp = static_cast<unsigned>(std::strtoul(std::string(s_.substr(i_, 4)).c_str(), nullptr, 16));
          i_ += 4;
          if (cp < 0x80) out.push_back(static_cast<char>(cp));
          else out += "?";  // tests only need ASCII
          break;
        }
        default: return false;
      }
    }
    return false;
  }
  bool array(Json& v, int depth) {
    v.kind = Json::Kind::array;
    ++i_;
    ws();
    if (i_ < s_.size() && s_[i_] == ']') { ++i_; return true; }
    for (;;) {
      Json item;
      ws();
      if (!value(item, depth + 1)) return false;
      v.items.push_back(std::move(item));
      ws();
      if (i_ >= s_.size()) return false;
      if (s_[i_] == ',') { ++i_; continue; }
      if (s_[i_] == ']') { ++i_; return true; }
      return false;
    }
  }
  bool object(Json& v, int depth) {
    v.kind = Json::Kind::object;
    ++i_;
    ws();
    if (i_ < s_.size() && s_[i_] == '}') { ++i_; return true; }
    for (;;) {
      ws();
      if (i_ >= s_.size() || s_[i_] != '"') return false;
      std::string key;
      if (!string(key)) return false;
      ws();
      if (i_ >= s_.size() || s_[i_] != ':') return false;
      ++i_;
      ws();
      Json item;
      if (!value(item, depth + 1)) return false;
      if (v.members.count(key)) return false;  // duplicate keys are an exporter bug
      v.members.emplace(std::move(key), std::move(item));
      ws();
      if (i_ >= s_.size()) return false;
      if (s_[i_] == ',') { ++i_; continue; }
      if (s_[i_] == '}') { ++i_; return true; }
      return false;
    }
  }
  std::string_view s_;
  std::size_t i_ = 0;
};

inline bool parse_json(std::string_view text, Json& out) { return JsonReader(text).parse(out); }

}  // namespace svcres_test
