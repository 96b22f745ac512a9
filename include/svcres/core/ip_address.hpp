#pragma once
// IpAddress: an IPv4 or IPv6 address held by value (17 bytes), parsed from and formatted to text
// without allocation.
//
// Text rules, chosen to match inet_pton(3) so that what the OS accepts we accept:
// - IPv4: exactly four decimal parts 0-255, no leading zeros ("010" could mean octal elsewhere).
// - IPv6: RFC 4291 §2.2 forms, at most one "::", an optional dotted-quad tail in the last 32 bits.
// - Zone indices ("fe80::1%eth0") are refused with Errc::scoped_address: a scoped address is only
//   meaningful on one host's interface and cannot be sent to a peer as data.
// - IPv4-mapped IPv6 ("::ffff:10.0.0.1") parses as IPv6; is_v4_mapped() and unmapped() let a caller
//   that wants IPv4 semantics convert it explicitly. Nothing converts silently.
// Formatting follows RFC 5952 §4 (lowercase, longest zero run compressed, first on a tie, a single
// zero group not compressed) and §5 (mapped addresses end in dotted quad).

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "svcres/core/result.hpp"

namespace svcres {

// Fixed-size text for an address: 45 chars is the longest IPv6 form (INET6_ADDRSTRLEN - 1).
struct AddressText {
  std::array<char, 48> chars{};
  std::uint8_t size = 0;
  std::string_view view() const noexcept { return {chars.data(), size}; }
  const char* c_str() const noexcept { return chars.data(); }
};

class IpAddress {
 public:
  enum class Family : std::uint8_t { v4 = 4, v6 = 6 };

  // 0.0.0.0
  constexpr IpAddress() noexcept = default;

  static constexpr IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept {
    IpAddress ip;
    ip.bytes_[0] = a;
    ip.bytes_[1] = b;
    ip.bytes_[2] = c;
    ip.bytes_[3] = d;
    return ip;
  }
  // `p` points at 4 bytes in network order (an A record's rdata).
  static IpAddress from_v4_bytes(const std::uint8_t* p) noexcept {
    IpAddress ip;
    std::memcpy(ip.bytes_.data(), p, 4);
    return ip;
  }
  // `p` points at 16 bytes in network order (an AAAA record's rdata).
  static IpAddress from_v6_bytes(const std::uint8_t* p) noexcept {
    IpAddress ip;
    ip.family_ = Family::v6;
    std::memcpy(ip.bytes_.data(), p, 16);
    return ip;
  }

  static Result<IpAddress> parse(std::string_view text) noexcept;

  Family family() const noexcept { return family_; }
  bool is_v4() const noexcept { return family_ == Family::v4; }
  bool is_v6() const noexcept { return family_ == Family::v6; }
  // 4 or 16 bytes in network order.
  const std::uint8_t* bytes() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return is_v4() ? 4 : 16; }

  bool is_loopback() const noexcept {
    if (is_v4()) return bytes_[0] == 127;
    static constexpr std::uint8_t one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(bytes_.data(), one, 16) == 0 || (is_v4_mapped() && bytes_[12] == 127);
  }
  // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2)
  bool is_v4_mapped() const noexcept {
    if (!is_v6()) return false;
    for (std::size_t i = 0; i < 10; ++i)
      if (bytes_[i] != 0) return false;
    return bytes_[10] == 0xff && bytes_[11] == 0xff;
  }
  // The IPv4 address inside a mapped address; any other address is returned unchanged.
  IpAddress unmapped() const noexcept {
    return is_v4_mapped() ? v4(bytes_[12], bytes_[13], bytes_[14], bytes_[15]) : *this;
  }

  AddressText to_text() const noexcept;

  friend bool operator==(const IpAddress& a, const IpAddress& b) noexcept {
    return a.family_ == b.family_ && std::memcmp(a.bytes_.data(), b.bytes_.data(), a.size()) == 0;
  }
  friend bool operator!=(const IpAddress& a, const IpAddress& b) noexcept { return !(a == b); }
  // Orders IPv4 before IPv6, then by bytes: stable order for tables and printing.
  friend bool operator<(const IpAddress& a, const IpAddress& b) noexcept {
    if (a.family_ != b.family_) return a.family_ < b.family_;
    return std::memcmp(a.bytes_.data(), b.bytes_.data(), a.size()) < 0;
  }

  // FNV-1a over family and bytes; good enough to spread identities over hash buckets.
  std::uint64_t hash() const noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull ^ static_cast<std::uint8_t>(family_);
    h *= 0x100000001b3ull;
    for (std::size_t i = 0; i < size(); ++i) {
      h ^= bytes_[i];
      h *= 0x100000001b3ull;
    }
    return h;
  }

 private:
  std::array<std::uint8_t, 16> bytes_{};  // IPv4 uses the first 4; the rest stay zero
  Family family_ = Family::v4;
};

namespace detail {

// s[pos, pos + n), for a start the caller knows is within s: string_view::substr would check it
// and carry an out_of_range path (a throw, or an abort without exceptions) into every caller.
constexpr std::string_view slice(std::string_view s, std::size_t pos, std::size_t n = std::string_view::npos) noexcept {
  return std::string_view(s.data() + pos, n < s.size() - pos ? n : s.size() - pos);
}

// Four decimal parts "0".."255" separated by dots, no leading zeros ("010" could mean octal
// elsewhere). Bytes may be written to `out` before a failure is found.
inline bool parse_v4_into(std::string_view s, std::uint8_t* out) noexcept {
  unsigned part = 0, v = 0, digits = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (digits == 0 || v > 255 || part == 4) return false;
      out[part++] = static_cast<std::uint8_t>(v);
      v = digits = 0;
      continue;
    }
    const unsigned d = static_cast<unsigned>(s[i]) - '0';
    if (d > 9 || (digits == 1 && v == 0) || ++digits > 3) return false;
    v = v * 10 + d;
  }
  return part == 4;
}

inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 4291 §2.2. Groups are written in order into 16 bytes; at the end the ones after the (at most
// one) "::" are moved to the end and the gap zero-filled. A dotted quad may end the text.
inline bool parse_v6_into(std::string_view s, std::uint8_t* out) noexcept {
  std::uint8_t bytes[16] = {};
  std::size_t n = 0;  // bytes written
  std::size_t gap = 16 + 1;  // where "::" stood (in bytes); none yet
  std::size_t i = 0;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    gap = 0;
    i = 2;
  }  // a single leading colon fails below as an empty group
  while (i < s.size()) {
    std::size_t j = i;
    unsigned v = 0;
    for (int h; j < s.size() && j - i < 4 && (h = hex_value(s[j])) >= 0; ++j) v = v * 16 + static_cast<unsigned>(h);
    if (j < s.size() && s[j] == '.') {
      // Dotted-quad tail: the last 32 bits, and the rest of the text.
      if (n > 12 || !parse_v4_into(slice(s, i), bytes + n)) return false;
      n += 4;
      break;
    }
    if (j == i || n == 16) return false;  // an empty group (stray colon, bad digit) or a ninth group
    bytes[n++] = static_cast<std::uint8_t>(v >> 8);
    bytes[n++] = static_cast<std::uint8_t>(v);
    if (j == s.size()) break;
    if (s[j] != ':' || j + 1 == s.size()) return false;  // a bad digit, or a trailing single colon
    i = j + 1;
    if (s[i] == ':') {
      if (gap <= 16) return false;  // a second "::"
      gap = n;
      ++i;
    }
  }
  if (gap > 16) {
    if (n != 16) return false;
  } else {
    if (n > 14) return false;  // "::" must stand for at least one group
    std::memmove(bytes + 16 - (n - gap), bytes + gap, n - gap);
    std::memset(bytes + gap, 0, 16 - n);
  }
  std::memcpy(out, bytes, 16);
  return true;
}

inline std::size_t format_decimal(char* out, unsigned v) noexcept {
  char tmp[10];
  std::size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (std::size_t k = 0; k < n; ++k) out[k] = tmp[n - 1 - k];
  return n;
}

}  // namespace detail

inline Result<IpAddress> IpAddress::parse(std::string_view text) noexcept {
  if (text.empty()) return Errc::empty_address;
  IpAddress ip;
  const bool v6 = text.find(':') != std::string_view::npos;
  const Errc bad = v6 ? Errc::bad_ipv6 : Errc::bad_ipv4;
  if (text.size() > 45 + 1 + 64) return bad;
  if (v6) {
    if (text.find('%') != std::string_view::npos) return Errc::scoped_address;
    ip.family_ = Family::v6;
  }
  if (!(v6 ? detail::parse_v6_into : detail::parse_v4_into)(text, ip.bytes_.data())) return bad;
  return ip;
}

inline AddressText IpAddress::to_text() const noexcept {
  AddressText t;
  char* out = t.chars.data();
  std::size_t n = 0;
  const std::uint8_t* b = bytes_.data();
  // IPv6 groups written in hex before the dotted quad (if any): 0 for IPv4, 6 for a mapped address
  // (RFC 5952 §5: "::ffff:" then dotted quad), 8 for any other IPv6 address.
  const int groups = is_v4() ? 0 : is_v4_mapped() ? 6 : 8;
  auto group = [b](int k) { return static_cast<unsigned>(b[2 * k] << 8 | b[2 * k + 1]); };
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first on a tie.
  int best = -1, best_len = 1;
  for (int k = 0, run = 0; k < groups; ++k) {
    run = group(k) == 0 ? run + 1 : 0;
    if (run > best_len) {
      best_len = run;
      best = k - run + 1;
    }
  }
  for (int k = 0; k < groups; ++k) {
    if (k == best) {
      out[n++] = ':';
      out[n++] = ':';
      k += best_len - 1;
      continue;
    }
    if (k != 0 && k != best + best_len) out[n++] = ':';
    const unsigned v = group(k);
    int shift = 12;
    while (shift > 0 && (v >> shift) == 0) shift -= 4;  // §4.1: no leading zeros
    for (; shift >= 0; shift -= 4) out[n++] = "0123456789abcdef"[(v >> shift) & 0xf];
  }
  if (groups != 8) {
    if (groups != 0) out[n++] = ':';
    for (int k = 0; k < 4; ++k) {
      if (k) out[n++] = '.';
      n += detail::format_decimal(out + n, b[2 * groups + k]);
    }
  }
  out[n] = '\0';
  t.size = static_cast<std::uint8_t>(n);
  return t;
}

}  // namespace svcres
