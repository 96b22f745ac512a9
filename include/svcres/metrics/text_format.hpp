#pragma once
// Number and string formatting shared by the exporters. Locale-independent: the exporters never use
// printf's %f, whose decimal point follows LC_NUMERIC and would break both formats in a
// comma-decimal locale.

#include <cstdint>
#include <string>
#include <string_view>

namespace svcres::metrics::detail {

inline void append_uint(std::string& out, std::uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) out.push_back(tmp[--n]);
}

inline void append_int(std::string& out, std::int64_t v) {
  if (v < 0) {
    out.push_back('-');
    append_uint(out, static_cast<std::uint64_t>(-(v + 1)) + 1);
  } else {
    append_uint(out, static_cast<std::uint64_t>(v));
  }
}

// A non-negative quantity given in millionths, printed as a decimal with up to 6 fraction digits
// ("0.000250", "1.5"): how seconds and milliseconds leave the exporters.
inline void append_micro_fixed(std::string& out, std::uint64_t millionths) {
  append_uint(out, millionths / 1000000);
  std::uint64_t frac = millionths % 1000000;
  if (frac == 0) return;
  char digits[6];
  for (int i = 5; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  int len = 6;
  while (len > 1 && digits[len - 1] == '0') --len;
  out.push_back('.');
  out.append(digits, static_cast<std::size_t>(len));
}

// JSON string body (RFC 8259 §7): quote, backslash and control characters escaped.
inline void append_json_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      out += "\\u00";
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
}

// Prometheus label value: backslash, double quote and newline escaped.
inline void append_label_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace svcres::metrics::detail
