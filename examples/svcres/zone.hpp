#pragma once
// A zone-file reader for the subset `svcres serve` answers from (RFC 1035 §5.1 master file format):
//   $ORIGIN name, $TTL ttl (RFC 2308 §4), comments from ';' to end of line, parentheses joining lines
//   (the usual multi-line SOA), "@" for the origin, relative names completed with the origin, a
//   blank owner meaning "the previous owner", TTL and class IN in either order before the type,
//   TTLs in seconds or with s/m/h/d/w units (BIND style), quoted TXT strings with \" and \DDD.
//   Types: SOA, NS, A, AAAA, SRV, CNAME, TXT. Anything else is an error with file and line.
//   A CNAME owner has no other record and no second CNAME (RFC 1034 §3.6.2, RFC 2181 §10.1), as
//   nsd-checkzone and named-checkzone insist: an error at the later record's line.
// Part of the example tool, not the library: it allocates (std::vector, std::string) freely.
// Fuzzed by fuzz/zone/: any input must give a Zone or an error, never a crash.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/escape.hpp"
#include "svcres/core/ip_address.hpp"
#include "svcres/dns/name.hpp"
#include "svcres/dns/types.hpp"

namespace svcres_cli {

namespace dns = svcres::dns;

struct ZoneRecord {
  dns::Name owner;
  dns::Type type = dns::Type::A;
  std::uint32_t ttl = 0;
  unsigned line = 0;
  svcres::IpAddress address;                     // A, AAAA
  std::uint16_t priority = 0, weight = 0, port = 0;  // SRV
  dns::Name target;                              // SRV target, CNAME target, NS host, SOA mname
  dns::Name rname;                               // SOA
  std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;  // SOA
  std::vector<std::string> texts;                // TXT character-strings
};

struct Zone {
  dns::Name origin;
  std::vector<ZoneRecord> records;

  const ZoneRecord* soa() const noexcept {
    for (const auto& r : records)
      if (r.type == dns::Type::SOA) return &r;
    return nullptr;
  }
};

using svcres_examples::escaped;  // input shown in messages, \DDD for unprintable bytes

struct ZoneError {
  std::string file;          // empty: the error is not about the file (a bad initial origin)
  unsigned line = 0;         // 1-based; 0 with whole_file
  bool whole_file = false;   // about the zone as a whole (no records, no apex), not one line
  std::string message;
  std::string text() const {
    std::string where = escaped(file);
    if (!where.empty() && !whole_file) where += ":" + std::to_string(line);
    return where.empty() ? message : where + ": " + message;
  }
};

namespace detail {

struct Token {
  std::string text;
  bool quoted = false;
};

struct Entry {  // one logical record: tokens after joining parentheses
  unsigned line = 0;
  bool owner_blank = false;  // the physical line started with blank space
  std::vector<Token> tokens;
};

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Splits the text into logical entries. Returns false with err set on a lexical error.
inline bool lex(std::string_view text, std::vector<Entry>& out, ZoneError& err) {
  unsigned line = 1;
  int depth = 0;
  Entry cur;
  bool started = false;
  std::size_t i = 0;
  auto flush = [&] {
    if (!cur.tokens.empty()) out.push_back(std::move(cur));
    cur = Entry{};
    started = false;
  };
  auto begin_line = [&] {
    if (depth == 0 && !started) {
      cur.line = line;
      cur.owner_blank = i < text.size() && is_space(text[i]);
      started = true;
    }
  };
  begin_line();
  while (i < text.size()) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
      if (depth == 0) {
        flush();
        begin_line();
      }
      continue;
    }
    if (is_space(c)) {
      ++i;
      continue;
    }
    if (c == ';') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '(') {
      ++depth;
      ++i;
      continue;
    }
    if (c == ')') {
      if (depth == 0) {
        err.line = line;
        err.message = "')' without '('";
        return false;
      }
      --depth;
      ++i;
      continue;
    }
    Token t;
    if (c == '"') {
      t.quoted = true;
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char d = text[i];
        if (d == '\n') break;
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\' && i + 1 < text.size()) {
          if (i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '9') {
            unsigned v = 0;
            for (int k = 1; k <= 3; ++k) {
              char e = text[i + static_cast<std::size_t>(k)];
              if (e < '0' || e > '9') {
                err.line = line;
                err.message = "bad \\DDD escape in quoted string";
                return false;
              }
              v = v * 10 + static_cast<unsigned>(e - '0');
            }
            if (v > 255) {
              err.line = line;
              err.message = "\\DDD escape above 255";
              return false;
            }
            t.text.push_back(static_cast<char>(v));
            i += 4;
            continue;
          }
          t.text.push_back(text[i + 1]);
          i += 2;
          continue;
        }
        t.text.push_back(d);
        ++i;
      }
      if (!closed) {
        err.line = line;
        err.message = "unterminated quoted string";
        return false;
      }
    } else {
      while (i < text.size() && !is_space(text[i]) && text[i] != '\n' && text[i] != ';' && text[i] != '(' &&
             text[i] != ')' && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] != '\n') t.text.push_back(text[i++]);
        t.text.push_back(text[i++]);
      }
    }
    cur.tokens.push_back(std::move(t));
  }
  if (depth != 0) {
    err.line = cur.line;
    err.message = "'(' without ')' before end of file";
    return false;
  }
  flush();
  return true;
}

// Decimal seconds, or BIND units (1h30m). At most 2^31 - 1 (RFC 2181 §8).
inline bool parse_ttl(std::string_view s, std::uint32_t& out) {
  if (s.empty()) return false;
  std::uint64_t total = 0, num = 0;
  bool have_digit = false, have_unit = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      num = num * 10 + static_cast<std::uint64_t>(c - '0');
      if (num > 0x7fffffff) return false;
      have_digit = true;
      continue;
    }
    std::uint64_t mult = 0;
    switch (c | 0x20) {
      case 's': mult = 1; break;
      case 'm': mult = 60; break;
      case 'h': mult = 3600; break;
      case 'd': mult = 86400; break;
      case 'w': mult = 604800; break;
      default: return false;
    }
    if (!have_digit) return false;
    total += num * mult;
    if (total > 0x7fffffff) return false;
    num = 0;
    have_digit = false;
    have_unit = true;
  }
  if (have_digit) total += num;
  else if (!have_unit) return false;
  if (total > 0x7fffffff) return false;
  out = static_cast<std::uint32_t>(total);
  return true;
}

inline bool parse_u16(std::string_view s, std::uint16_t& out) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) return false;
  out = static_cast<std::uint16_t>(v);
  return true;
}

inline bool parse_u32(std::string_view s, std::uint32_t& out) {
  if (s.empty() || s.size() > 10) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > 0xffffffffull) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

inline bool is_class(std::string_view s) { return s == "IN" || s == "in" || s == "In" || s == "iN"; }

// "@", an absolute name, or a name relative to origin.
inline bool make_name(std::string_view text, const dns::Name& origin, bool have_origin, dns::Name& out,
                      std::string& why) {
  if (text == "@") {
    if (!have_origin) {
      why = "'@' used before $ORIGIN";
      return false;
    }
    out = origin;
    return true;
  }
  dns::Name n;
  if (svcres::Errc e = dns::Name::from_text(text).get(n); e != svcres::Errc::ok) {
    why = "bad name '" + escaped(text) + "': " + svcres::to_string(e);
    return false;
  }
  const bool absolute = !text.empty() && text.back() == '.' && !(text.size() >= 2 && text[text.size() - 2] == '\\');
  if (absolute) {
    out = n;
    return true;
  }
  if (!have_origin) {
    why = "relative name '" + escaped(text) + "' before $ORIGIN";
    return false;
  }
  if (svcres::Errc e = n.concat(origin).get(out); e != svcres::Errc::ok) {
    why = "name '" + escaped(text) + "' too long with the origin: " + svcres::to_string(e);
    return false;
  }
  return true;
}

}  // namespace detail

// Parses `text`; `file` only labels errors. `origin` is the initial $ORIGIN (may be empty text).
inline bool parse_zone(std::string_view text, std::string_view file, std::string_view origin, Zone& out,
                       ZoneError& err) {
  using namespace detail;
  err = ZoneError{};
  err.file = std::string(file);
  out = Zone{};
  std::vector<Entry> entries;
  if (!lex(text, entries, err)) return false;
  bool have_origin = false;
  if (!origin.empty()) {
    if (svcres::Errc e = dns::Name::from_text(origin).get(out.origin); e != svcres::Errc::ok) {
      err.file.clear();  // the origin came from the caller, not from the file
      err.message = "bad origin '" + escaped(origin) + "': " + svcres::to_string(e);
      return false;
    }
    have_origin = true;
  }
  bool have_ttl = false;
  std::uint32_t default_ttl = 0;
  bool have_owner = false;
  dns::Name last_owner;
  auto fail = [&](unsigned line, std::string msg) {
    err.line = line;
    err.message = std::move(msg);
    return false;
  };
  auto fail_whole = [&](std::string msg) {
    err.whole_file = true;
    return fail(0, std::move(msg));
  };
  // Per owner (case-folded wire form): the first record's line and type, and its CNAME's line.
  struct OwnerData {
    unsigned first_line = 0;
    dns::Type first_type = dns::Type::A;
    unsigned cname_line = 0;
  };
  std::unordered_map<std::string, OwnerData> owners;

  for (const Entry& e : entries) {
    const auto& tk = e.tokens;
    std::size_t p = 0;
    if (!e.owner_blank && !tk[0].quoted && tk[0].text.size() > 1 && tk[0].text[0] == '$') {
      const std::string& d = tk[0].text;
      if (d == "$ORIGIN") {
        if (tk.size() != 2) return fail(e.line, "$ORIGIN needs one name");
        std::string why;
        dns::Name n;
        if (!make_name(tk[1].text, out.origin, have_origin, n, why)) return fail(e.line, why);
        out.origin = n;
        have_origin = true;
      } else if (d == "$TTL") {
        if (tk.size() != 2 || !parse_ttl(tk[1].text, default_ttl)) return fail(e.line, "$TTL needs one TTL value");
        have_ttl = true;
      } else {
        return fail(e.line, "unsupported directive " + escaped(d));
      }
      continue;
    }
    ZoneRecord r;
    r.line = e.line;
    if (e.owner_blank) {
      if (!have_owner) return fail(e.line, "record without an owner name (and no previous owner)");
      r.owner = last_owner;
    } else {
      std::string why;
      if (tk[0].quoted || !make_name(tk[0].text, out.origin, have_origin, r.owner, why))
        return fail(e.line, why.empty() ? "bad owner name" : why);
      p = 1;
    }
    bool ttl_set = false, class_set = false;
    for (int k = 0; k < 2 && p < tk.size(); ++k) {
      if (!ttl_set && !tk[p].quoted && !tk[p].text.empty() && tk[p].text[0] >= '0' && tk[p].text[0] <= '9') {
        if (!parse_ttl(tk[p].text, r.ttl)) return fail(e.line, "bad TTL '" + escaped(tk[p].text) + "'");
        ttl_set = true;
        ++p;
      } else if (!class_set && is_class(tk[p].text)) {
        class_set = true;
        ++p;
      }
    }
    if (p >= tk.size()) return fail(e.line, "missing record type");
    if (!dns::type_from_text(tk[p].text, r.type)) return fail(e.line, "unknown record type '" + escaped(tk[p].text) + "'");
    ++p;
    if (!ttl_set) {
      if (!have_ttl) return fail(e.line, "no TTL on the record and no $TTL before it");
      r.ttl = default_ttl;
    }
    const std::size_t nargs = tk.size() - p;
    auto arg = [&](std::size_t k) -> const std::string& { return tk[p + k].text; };
    auto want = [&](std::size_t n, const char* what) {
      if (nargs != n) return fail(e.line, std::string(dns::to_string(r.type)) + " needs " + what);
      return true;
    };
    std::string why;
    switch (r.type) {
      case dns::Type::A:
        if (!want(1, "an IPv4 address")) return false;
        if (svcres::IpAddress::parse(arg(0)).get(r.address) != svcres::Errc::ok || !r.address.is_v4())
          return fail(e.line, "bad IPv4 address '" + escaped(arg(0)) + "'");
        break;
      case dns::Type::AAAA:
        if (!want(1, "an IPv6 address")) return false;
        if (svcres::IpAddress::parse(arg(0)).get(r.address) != svcres::Errc::ok || !r.address.is_v6())
          return fail(e.line, "bad IPv6 address '" + escaped(arg(0)) + "'");
        break;
      case dns::Type::SRV:  // RFC 2782: priority weight port target
        if (!want(4, "priority, weight, port and target")) return false;
        if (!parse_u16(arg(0), r.priority) || !parse_u16(arg(1), r.weight) || !parse_u16(arg(2), r.port))
          return fail(e.line, "SRV priority, weight and port must be numbers 0-65535");
        if (!make_name(arg(3), out.origin, have_origin, r.target, why)) return fail(e.line, why);
        break;
      case dns::Type::CNAME:
      case dns::Type::NS:
        if (!want(1, "one name")) return false;
        if (!make_name(arg(0), out.origin, have_origin, r.target, why)) return fail(e.line, why);
        break;
      case dns::Type::SOA:
        if (!want(7, "mname, rname, serial, refresh, retry, expire and minimum")) return false;
        if (!make_name(arg(0), out.origin, have_origin, r.target, why)) return fail(e.line, why);
        if (!make_name(arg(1), out.origin, have_origin, r.rname, why)) return fail(e.line, why);
        if (!parse_u32(arg(2), r.serial)) return fail(e.line, "bad SOA serial '" + escaped(arg(2)) + "'");
        if (!parse_ttl(arg(3), r.refresh) || !parse_ttl(arg(4), r.retry) || !parse_ttl(arg(5), r.expire) ||
            !parse_ttl(arg(6), r.minimum))
          return fail(e.line, "bad SOA timer value");
        break;
      case dns::Type::TXT:
        if (nargs == 0) return fail(e.line, "TXT needs at least one string");
        for (std::size_t k = 0; k < nargs; ++k) {
          if (arg(k).size() > 255) return fail(e.line, "TXT string longer than 255 bytes");
          r.texts.push_back(arg(k));
        }
        break;
      default:
        return fail(e.line, std::string("record type ") + dns::to_string(r.type) + " is not supported by svcres serve");
    }
    // RFC 1034 §3.6.2: "If a CNAME RR is present at a node, no other data should be present";
    // RFC 2181 §10.1: and only one CNAME.
    std::string key(reinterpret_cast<const char*>(r.owner.wire()), r.owner.wire_size());
    for (char& c : key) c = static_cast<char>(dns::detail::ascii_lower(static_cast<std::uint8_t>(c)));
    OwnerData& seen = owners[key];
    if (seen.first_line != 0) {
      const std::string owner_text(r.owner.to_text().view());
      if (r.type == dns::Type::CNAME && seen.cname_line != 0)
        return fail(e.line, "a second CNAME at " + owner_text + " (the first is at line " +
                                std::to_string(seen.cname_line) + "): a name has one CNAME at most (RFC 2181 §10.1)");
      if (r.type == dns::Type::CNAME)
        return fail(e.line, "CNAME at " + owner_text + ", which already has " + dns::to_string(seen.first_type) +
                                " data (line " + std::to_string(seen.first_line) +
                                "): a CNAME owner can have no other records (RFC 1034 §3.6.2)");
      if (seen.cname_line != 0)
        return fail(e.line, std::string(dns::to_string(r.type)) + " record at " + owner_text +
                                ", which has a CNAME (line " + std::to_string(seen.cname_line) +
                                "): a CNAME owner can have no other records (RFC 1034 §3.6.2)");
    } else {
      seen.first_line = e.line;
      seen.first_type = r.type;
    }
    if (r.type == dns::Type::CNAME) seen.cname_line = e.line;
    last_owner = r.owner;
    have_owner = true;
    out.records.push_back(std::move(r));
  }
  if (out.records.empty()) return fail_whole("the zone has no records");
  if (!have_origin) {
    // No $ORIGIN: the SOA owner is the zone apex.
    if (const ZoneRecord* s = out.soa()) out.origin = s->owner;
    else return fail_whole("no $ORIGIN and no SOA record: cannot tell the zone apex");
  }
  return true;
}

}  // namespace svcres_cli
