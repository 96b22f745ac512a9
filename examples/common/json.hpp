#pragma once
// The little JSON the bootstrap writes: quoted strings (RFC 8259 §7) and numbers. Nothing is parsed.

#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

namespace svcres_examples {
namespace json {

// A JSON string literal for any bytes: quotes, backslash and control characters escaped; bytes
// that are not valid UTF-8 become U+FFFD so the document stays valid for CloudWatch and Lambda.
inline std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      continue;
    }
    // UTF-8 sequence: check length and continuation bytes (RFC 3629 §4), else replace.
    std::size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    bool ok = len != 0 && i + len <= s.size() && c >= 0xc2 && c <= 0xf4;
    for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (ok) {
      out.append(s.data() + i, len);
      i += len - 1;
    } else {
      out += "\\ufffd";
    }
  }
  out += '"';
  return out;
}

// At most `max` bytes of s, marked when cut; for putting peer answers into log and error messages.
inline std::string truncate(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  return std::string(s.substr(0, max)) + "...(" + std::to_string(s.size()) + " bytes)";
}

// A finite number with up to 3 decimals; JSON has no NaN or infinity, so those become 0.
inline std::string number(double v) {
  if (!std::isfinite(v)) return "0";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace json
}  // namespace svcres_examples
