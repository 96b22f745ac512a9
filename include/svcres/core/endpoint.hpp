#pragma once
// Endpoint: one task of a service as the balancer sees it. Identity is address + port: two SRV records
// for the same task under different priorities are the same endpoint to per-host statistics.

#include <cstdint>
#include <string_view>

#include "svcres/core/ip_address.hpp"

namespace svcres {

struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;
  std::uint16_t priority = 0;  // RFC 2782: lower is preferred
  std::uint16_t weight = 1;    // RFC 2782: relative share within one priority; 0 = "only if nothing else"

  bool same_identity(const Endpoint& other) const noexcept {
    return port == other.port && address == other.address;
  }
  std::uint64_t identity_hash() const noexcept {
    std::uint64_t h = address.hash() ^ (static_cast<std::uint64_t>(port) * 0x9e3779b97f4a7c15ull);
    return h ^ (h >> 29);
  }

  // "a.b.c.d:port" or "[v6]:port"
  static Result<Endpoint> parse(std::string_view text) noexcept;

  friend bool operator==(const Endpoint& a, const Endpoint& b) noexcept {
    return a.same_identity(b) && a.priority == b.priority && a.weight == b.weight;
  }
  friend bool operator!=(const Endpoint& a, const Endpoint& b) noexcept { return !(a == b); }
};

// Text for an endpoint: "[2001:db8::1]:8080" is 54 chars at most.
struct EndpointText {
  char chars[56] = {};
  std::uint8_t size = 0;
  std::string_view view() const noexcept { return {chars, size}; }
  const char* c_str() const noexcept { return chars; }
};

inline EndpointText to_text(const Endpoint& e) noexcept {
  EndpointText t;
  AddressText a = e.address.to_text();
  std::size_t n = 0;
  if (e.address.is_v6()) t.chars[n++] = '[';
  for (std::size_t i = 0; i < a.size; ++i) t.chars[n++] = a.chars[i];
  if (e.address.is_v6()) t.chars[n++] = ']';
  t.chars[n++] = ':';
  n += detail::format_decimal(t.chars + n, e.port);
  t.chars[n] = '\0';
  t.size = static_cast<std::uint8_t>(n);
  return t;
}

namespace detail {
// Decimal 0-65535 with no sign, no spaces; -1 on anything else.
inline long parse_port(std::string_view s) noexcept {
  if (s.empty() || s.size() > 5) return -1;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v <= 65535 ? v : -1;
}

// "a.b.c.d:port" or "[v6]:port"; when `bare_port` is non-zero also a bare address ("a.b.c.d", or
// IPv6 with two or more colons and no brackets), which gets that port. One parser for
// Endpoint::parse and ResolvConf::add_nameserver.
inline Result<Endpoint> parse_endpoint(std::string_view text, std::uint16_t bare_port) noexcept {
  std::string_view host = text, port;
  const std::size_t colon = text.rfind(':');
  if (!text.empty() && text[0] == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return Errc::bad_ipv6;
    host = slice(text, 1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return Errc::bad_port;
    port = slice(text, close + 2);
  } else if (colon != std::string_view::npos && slice(text, 0, colon).find(':') == std::string_view::npos) {
    host = slice(text, 0, colon);
    port = slice(text, colon + 1);
  } else if (bare_port == 0) {
    return colon == std::string_view::npos ? Errc::bad_port : Errc::bad_ipv6;  // IPv6 needs brackets
  }
  Endpoint e;
  if (auto err = IpAddress::parse(host).get(e.address); err != Errc::ok) return err;
  const long p = port.data() ? parse_port(port) : bare_port;
  if (p < 0) return Errc::bad_port;
  e.port = static_cast<std::uint16_t>(p);
  return e;
}
}  // namespace detail

inline Result<Endpoint> Endpoint::parse(std::string_view text) noexcept { return detail::parse_endpoint(text, 0); }

}  // namespace svcres
