#pragma once
// ResolvConf: the resolver's configuration, parsed from resolv.conf(5) text or built in code.
//
// Parsing follows glibc's res_init where it matters to behaviour, and says so where it differs:
// - `nameserver ADDR` (IPv4 or IPv6, no port, no zone index). At most 3 are kept from text, glibc's
//   MAXNS; later ones are skipped and reported. add_nameserver() accepts up to max_nameservers (8)
//   and takes a port, which tests and hosts with a non-53 resolver need.
// - `search D...` and `domain D` replace the list (the last such line wins). At most 6 domains of
//   at most 253 characters (glibc's old MAXDNSRCH); extra domains are skipped and reported.
// - `options ndots:N timeout:N attempts:N rotate edns0 use-vc`, also accepted from a RES_OPTIONS-like
//   string through apply_options(). Clamps as glibc: ndots <= 15, timeout <= 30 s, attempts <= 5;
//   and timeout >= 1 s, attempts >= 1 (glibc treats 0 as "1 second" and "never send", which no
//   caller wants). A number too large to hold saturates and is then clamped, so "ndots:99999999999"
//   means 15, as glibc's intent; a number with any non-digit is skipped and reported.
// - `#` or `;` at the start of a line (after blanks) makes it a comment; unknown keywords and options
//   are skipped and reported (glibc ignores them silently).
// - A line containing a NUL byte, or longer than max_line (1024) bytes, is skipped whole and reported:
//   neither can come from a well-formed file, and half a line could change meaning.
// - No nameserver at all after parsing: 127.0.0.1:53 is used, as glibc does (defaulted_nameserver()).
// Problems never fail the parse; each is recorded in issues() with its 1-based line number. A caller
// that wants strictness checks `issues().empty()`.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string_view>

#include "svcres/core/endpoint.hpp"
#include "svcres/core/fixed_vector.hpp"
#include "svcres/core/ip_address.hpp"
#include "svcres/core/result.hpp"

namespace svcres {

struct NameServer {
  IpAddress address;
  std::uint16_t port = 53;
  friend bool operator==(const NameServer& a, const NameServer& b) noexcept {
    return a.port == b.port && a.address == b.address;
  }
};

enum class ConfProblem : std::uint8_t {
  nul_byte,             // the line contains a NUL byte; skipped
  line_too_long,        // longer than ResolvConf::max_line; skipped
  bad_address,          // nameserver address not IPv4/IPv6 text (or scoped); skipped
  too_many_nameservers, // beyond MAXNS (3) from text; skipped
  bad_domain,           // search/domain entry not a valid name; that entry skipped
  too_many_domains,     // beyond max_search; the extra entries skipped
  bad_number,           // option value with a non-digit or missing; that option skipped
  unknown_option,       // options word not understood; that word skipped
  unknown_keyword,      // first word of the line not understood; line skipped
  missing_value,        // keyword with nothing after it; line skipped
};

constexpr const char* to_string(ConfProblem p) noexcept {
  switch (p) {
    case ConfProblem::nul_byte: return "NUL byte in line";
    case ConfProblem::line_too_long: return "line too long";
    case ConfProblem::bad_address: return "bad nameserver address";
    case ConfProblem::too_many_nameservers: return "more than 3 nameservers";
    case ConfProblem::bad_domain: return "bad search domain";
    case ConfProblem::too_many_domains: return "too many search domains";
    case ConfProblem::bad_number: return "bad option number";
    case ConfProblem::unknown_option: return "unknown option";
    case ConfProblem::unknown_keyword: return "unknown keyword";
    case ConfProblem::missing_value: return "keyword without value";
  }
  return "unknown problem";
}

struct ConfIssue {
  std::uint32_t line = 0;  // 1-based; 0 for apply_options() input
  ConfProblem problem = ConfProblem::unknown_keyword;
};

// A search domain as presentation text without the trailing dot (at most 253 chars).
struct SearchDomain {
  char chars[254] = {};
  std::uint8_t size = 0;
  std::string_view view() const noexcept { return {chars, size}; }
};

class ResolvConf {
 public:
  static constexpr std::size_t max_nameservers = 8;  // add_nameserver(); text keeps glibc's 3
  static constexpr std::size_t maxns = 3;             // glibc MAXNS
  static constexpr std::size_t max_search = 6;
  static constexpr std::size_t max_line = 1024;
  static constexpr std::size_t max_issues = 16;
  static constexpr unsigned max_ndots = 15;     // glibc RES_MAXNDOTS
  static constexpr unsigned max_timeout_s = 30; // glibc RES_MAXRETRANS
  static constexpr unsigned max_attempts = 5;   // glibc RES_MAXRETRY

  FixedVector<NameServer, max_nameservers> nameservers;
  FixedVector<SearchDomain, max_search> search;
  unsigned ndots = 1;
  // Per-try wait. Text gives whole seconds; code may set milliseconds (tests use short ones).
  std::chrono::milliseconds timeout{5000};
  unsigned attempts = 2;
  bool rotate = false;
  bool edns0 = false;   // send OPT with a 1232-byte payload (RFC 6891); the resolver may also force it
  bool use_vc = false;  // TCP for every query

  // Lenient parse of a whole file's text. Never fails; see issues().
  static ResolvConf parse(std::string_view text) noexcept {
    return read(
        [](void* src) noexcept -> int {
          auto& rest = *static_cast<std::string_view*>(src);
          if (rest.empty()) return EOF;
          const unsigned char ch = static_cast<unsigned char>(rest.front());
          rest.remove_prefix(1);
          return ch;
        },
        &text);
  }

  // Reads and parses a file (normally /etc/resolv.conf) line by line through a fixed buffer.
  // Errc::not_found when the file cannot be opened; glibc then uses defaults, and so can the
  // caller with ResolvConf::parse("").
  static Result<ResolvConf> load(const char* path = "/etc/resolv.conf") noexcept {
    std::FILE* f = std::fopen(path, "rb");
    if (!f) return Errc::not_found;
    Result<ResolvConf> c = read([](void* src) noexcept -> int { return std::fgetc(static_cast<std::FILE*>(src)); }, f);
    std::fclose(f);
    return c;
  }

  // Adds a server given as "a.b.c.d:port", "[v6]:port", or a bare address (port 53).
  Status add_nameserver(std::string_view text) noexcept {
    Endpoint e;
    if (Errc err = detail::parse_endpoint(text, 53).get(e); err != Errc::ok) return err;
    return add_nameserver(NameServer{e.address, e.port});
  }
  Status add_nameserver(const NameServer& ns) noexcept {
    if (defaulted_) {  // an explicit server replaces glibc's implicit 127.0.0.1
      nameservers.clear();
      defaulted_ = false;
    }
    if (!nameservers.push_back(ns)) return Errc::capacity_exceeded;
    return {};
  }
  Status add_search(std::string_view domain) noexcept {
    if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
    if (!valid_domain(domain)) return Errc::bad_name_text;
    SearchDomain d;
    std::memcpy(d.chars, domain.data(), domain.size());
    d.size = static_cast<std::uint8_t>(domain.size());
    if (!search.push_back(d)) return Errc::capacity_exceeded;
    return {};
  }

  // "ndots:2 timeout:1 rotate": the words of an `options` line (also RES_OPTIONS's format).
  void apply_options(std::string_view words, std::uint32_t line_no = 0) noexcept {
    for (std::string_view w = next_word(words); !w.empty(); w = next_word(words)) apply_option(w, line_no);
  }

  // Every problem met, in order, up to max_issues; dropped_issues() counts the rest.
  const FixedVector<ConfIssue, max_issues>& issues() const noexcept { return issues_; }
  std::size_t dropped_issues() const noexcept { return dropped_issues_; }
  bool defaulted_nameserver() const noexcept { return defaulted_; }

 private:
  static bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

  static std::string_view next_word(std::string_view& rest) noexcept {
    std::size_t i = 0;
    while (i < rest.size() && is_blank(rest[i])) ++i;
    std::size_t j = i;
    while (j < rest.size() && !is_blank(rest[j])) ++j;
    std::string_view w = detail::slice(rest, i, j - i);
    rest.remove_prefix(j);
    return w;
  }

  // A hostname-ish domain: labels of 1-63 bytes, 253 at most, no blanks; any other byte is allowed
  // (DNS names are binary) except '\' which would need the codec's escape rules.
  static bool valid_domain(std::string_view d) noexcept {
    if (d.empty() || d.size() > 253) return false;
    std::size_t label = 0;
    for (char ch : d) {
      if (ch == '.') {
        if (label == 0) return false;
        label = 0;
        continue;
      }
      if (ch == '\\' || is_blank(ch) || ch == '\0') return false;
      if (++label > 63) return false;
    }
    return label != 0;
  }

  // Position of `word` in `table`, or n when absent.
  template <std::size_t N>
  static std::size_t index_of(const std::string_view (&table)[N], std::string_view word) noexcept {
    std::size_t i = 0;
    while (i < N && table[i] != word) ++i;
    return i;
  }

  void note(std::uint32_t line, ConfProblem p) noexcept {
    if (!issues_.push_back(ConfIssue{line, p})) ++dropped_issues_;
  }

  // One option word. The numeric ones are "NAME:DIGITS"; the flags take no value. A number too large
  // to hold saturates at 65535 before the clamp, so overflow cannot wrap into range.
  void apply_option(std::string_view w, std::uint32_t line_no) noexcept {
    using namespace std::string_view_literals;  // constant lengths: no strlen calls
    static constexpr std::string_view names[] = {"ndots"sv, "timeout"sv, "attempts"sv, "rotate"sv,
                                                  "edns0"sv, "use-vc"sv,  "usevc"sv};
    // Clamps of ndots, timeout (seconds) and attempts: glibc's, with 0 raised to 1 where 0 would
    // mean "never" (see the top of this file).
    static constexpr std::uint8_t low[] = {0, 1, 1}, high[] = {max_ndots, max_timeout_s, max_attempts};
    constexpr std::size_t numeric = 3;
    const std::size_t colon = w.find(':');
    const bool has_value = colon != std::string_view::npos;
    const std::size_t k = index_of(names, detail::slice(w, 0, colon));
    if (k == std::size(names) || (k < numeric) != has_value) return note(line_no, ConfProblem::unknown_option);
    if (k >= numeric) {
      (k == 3 ? rotate : k == 4 ? edns0 : use_vc) = true;
      return;
    }
    std::string_view digits = detail::slice(w, colon + 1);
    if (digits.empty()) return note(line_no, ConfProblem::bad_number);
    unsigned v = 0;
    for (char ch : digits) {
      if (ch < '0' || ch > '9') return note(line_no, ConfProblem::bad_number);
      v = v * 10 + static_cast<unsigned>(ch - '0');
      if (v > 65535) v = 65535;
    }
    v = v < low[k] ? low[k] : v > high[k] ? high[k] : v;
    if (k == 0) ndots = v;
    else if (k == 1) timeout = std::chrono::seconds(v);
    else attempts = v;
  }

  // The one parse loop behind parse() and load(): `next(src)` yields the text's bytes, then EOF.
  // A line longer than max_line, or with a NUL byte, is skipped whole and reported.
  static ResolvConf read(int (*next)(void*) noexcept, void* src) noexcept {
    ResolvConf c;
    char buf[max_line];
    std::size_t n = 0;
    bool overlong = false;
    std::uint32_t line_no = 0;
    for (;;) {
      const int ch = next(src);
      if (ch != EOF && ch != '\n') {
        if (n < max_line) buf[n++] = static_cast<char>(ch);
        else overlong = true;  // the rest of this line is dropped, and so is the line
        continue;
      }
      if (ch == EOF && n == 0 && !overlong) break;
      ++line_no;
      if (overlong) c.note(line_no, ConfProblem::line_too_long);
      else if (std::memchr(buf, '\0', n)) c.note(line_no, ConfProblem::nul_byte);
      else c.parse_line(std::string_view(buf, n), line_no);
      n = 0;
      overlong = false;
      if (ch == EOF) break;
    }
    if (c.nameservers.empty()) {
      (void)c.nameservers.push_back(NameServer{IpAddress::v4(127, 0, 0, 1), 53});
      c.defaulted_ = true;
    }
    return c;
  }

  void parse_line(std::string_view rest, std::uint32_t line_no) noexcept {
    using namespace std::string_view_literals;  // constant lengths, as in apply_option()
    static constexpr std::string_view keywords[] = {"options"sv, "nameserver"sv, "search"sv, "domain"sv};
    const std::string_view key = next_word(rest);
    if (key.empty() || key[0] == '#' || key[0] == ';') return;
    const std::size_t k = index_of(keywords, key);
    if (k == 0) return apply_options(rest, line_no);
    std::string_view first = next_word(rest);
    if (first.empty()) return note(line_no, ConfProblem::missing_value);
    if (k == 1) {
      // glibc reads only the first word; anything after it is ignored.
      NameServer ns;
      if (IpAddress::parse(first).get(ns.address) != Errc::ok) return note(line_no, ConfProblem::bad_address);
      if (text_nameservers_ >= maxns) return note(line_no, ConfProblem::too_many_nameservers);
      ++text_nameservers_;
      if (!nameservers.push_back(ns)) note(line_no, ConfProblem::too_many_nameservers);
    } else if (k < std::size(keywords)) {  // search or domain
      search.clear();
      for (std::string_view d = first; !d.empty(); d = next_word(rest)) {
        Status s = add_search(d);
        if (s.error() == Errc::capacity_exceeded) return note(line_no, ConfProblem::too_many_domains);
        if (!s.ok()) note(line_no, ConfProblem::bad_domain);
        if (k == 3) break;  // glibc: domain takes one name
      }
    } else {
      note(line_no, ConfProblem::unknown_keyword);
    }
  }

  FixedVector<ConfIssue, max_issues> issues_;
  std::size_t dropped_issues_ = 0;
  std::size_t text_nameservers_ = 0;
  bool defaulted_ = false;
};

}  // namespace svcres
