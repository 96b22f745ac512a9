#pragma once
// The little JSON the examples write by hand: quoted strings (RFC 8259 §7). Nothing is parsed. EMF
// lines come from svcres's own exporter (svcres/metrics/emf.hpp), not from here.

#include <cstdio>
#include <string>
#include <string_view>

namespace svcres_examples {
namespace json {

// A JSON string literal for any bytes: quotes, backslash and control characters escaped; bytes
// that are not valid UTF-8 become U+FFFD so the document stays valid for CloudWatch and Lambda.
// svcres's exporter escaper passes bytes >= 0x80 through unchecked (its strings are names the
// program chose); this one is for peer bytes, such as a backend's error body.
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

}  // namespace json
}  // namespace svcres_examples
