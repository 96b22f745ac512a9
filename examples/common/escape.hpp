#pragma once
// Text quoted in a message (a name, a zone line, a configuration value): every byte that is not
// printable ASCII as \DDD (RFC 1035 §5.1), so a newline cannot split the line and a NUL cannot cut
// it; input longer than `max_bytes` ends in "...". Backslashes stay as they are: a name typed with
// escapes reads back as typed. Shared by the svcres command and the Lambda example.

#include <cstddef>
#include <string>
#include <string_view>

namespace svcres_examples {

inline std::string escaped(std::string_view s, std::size_t max_bytes = 300) {
  std::string out;
  out.reserve(s.size() < max_bytes ? s.size() : max_bytes);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == max_bytes) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      const char d[] = {'\\', static_cast<char>('0' + c / 100), static_cast<char>('0' + c / 10 % 10),
                        static_cast<char>('0' + c % 10)};
      out.append(d, sizeof d);
    }
  }
  return out;
}

}  // namespace svcres_examples
