#pragma once
// Record types, response codes and message sections as the codec names them.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace svcres::dns {

// RFC 1035 §3.2.2, RFC 3596 §2.1 (AAAA), RFC 2782 (SRV), RFC 6891 §6.1.1 (OPT). Any other 16-bit
// value is a valid Type by cast; the parser exposes such records as raw rdata.
enum class Type : std::uint16_t {
  A = 1,
  NS = 2,
  CNAME = 5,
  SOA = 6,
  PTR = 12,
  MX = 15,
  TXT = 16,
  AAAA = 28,
  SRV = 33,
  OPT = 41,
  ANY = 255,
};

// RFC 1035 §3.2.4: the Internet class; OPT reuses the class field as its payload size.
inline constexpr std::uint16_t class_in = 1;

// RFC 1035 §4.1.1 (4 bits) extended to 12 bits by the OPT record (RFC 6891 §6.1.3).
enum class Rcode : std::uint16_t {
  noerror = 0,
  formerr = 1,
  servfail = 2,
  nxdomain = 3,
  notimp = 4,
  refused = 5,
  yxdomain = 6,
  yxrrset = 7,
  nxrrset = 8,
  notauth = 9,
  notzone = 10,
  badvers = 16,  // RFC 6891 §9: needs the OPT extension to be expressed
  badcookie = 23,
};

enum class Section : std::uint8_t { question = 0, answer = 1, authority = 2, additional = 3 };

// The mnemonic of a known type, or nullptr; see type_text() for a form that always exists.
constexpr const char* type_mnemonic(Type t) noexcept {
  switch (t) {
    case Type::A: return "A";
    case Type::NS: return "NS";
    case Type::CNAME: return "CNAME";
    case Type::SOA: return "SOA";
    case Type::PTR: return "PTR";
    case Type::MX: return "MX";
    case Type::TXT: return "TXT";
    case Type::AAAA: return "AAAA";
    case Type::SRV: return "SRV";
    case Type::OPT: return "OPT";
    case Type::ANY: return "ANY";
  }
  return nullptr;
}

// The mnemonic of a known type, "UNKNOWN" otherwise; never null.
constexpr const char* to_string(Type t) noexcept {
  const char* m = type_mnemonic(t);
  return m ? m : "UNKNOWN";
}

struct TypeText {
  std::array<char, 12> chars{};
  std::uint8_t size = 0;
  std::string_view view() const noexcept { return {chars.data(), size}; }
  const char* c_str() const noexcept { return chars.data(); }
};

// The mnemonic, or the RFC 3597 §5 generic form "TYPE<n>" for any other value.
inline TypeText type_text(Type t) noexcept {
  TypeText out;
  const char* m = type_mnemonic(t);
  std::size_t n = 0;
  if (m) {
    while (m[n]) {
      out.chars[n] = m[n];
      ++n;
    }
  } else {
    for (char c : {'T', 'Y', 'P', 'E'}) out.chars[n++] = c;
    char digits[5];
    std::size_t d = 0;
    unsigned v = static_cast<unsigned>(t);
    do {
      digits[d++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (d) out.chars[n++] = digits[--d];
  }
  out.chars[n] = '\0';
  out.size = static_cast<std::uint8_t>(n);
  return out;
}

// Case-insensitive mnemonic or "TYPE<n>" (RFC 3597 §5); false when the text names no type.
inline bool type_from_text(std::string_view text, Type& out) noexcept {
  auto iequal = [](std::string_view a, const char* b) -> bool {
    std::size_t i = 0;
    for (; i < a.size() && b[i]; ++i) {
      char c = a[i];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (c != b[i]) return false;
    }
    return i == a.size() && b[i] == '\0';
  };
  for (Type t : {Type::A, Type::NS, Type::CNAME, Type::SOA, Type::PTR, Type::MX, Type::TXT, Type::AAAA,
                 Type::SRV, Type::OPT, Type::ANY}) {
    if (iequal(text, type_mnemonic(t))) {
      out = t;
      return true;
    }
  }
  if (text.size() > 4 && text.size() <= 9 && iequal(text.substr(0, 4), "TYPE")) {
    unsigned v = 0;
    for (char c : text.substr(4)) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 0xffff || (text.size() > 5 && text[4] == '0')) return false;
    out = static_cast<Type>(v);
    return true;
  }
  return false;
}

constexpr const char* to_string(Rcode r) noexcept {
  switch (r) {
    case Rcode::noerror: return "NOERROR";
    case Rcode::formerr: return "FORMERR";
    case Rcode::servfail: return "SERVFAIL";
    case Rcode::nxdomain: return "NXDOMAIN";
    case Rcode::notimp: return "NOTIMP";
    case Rcode::refused: return "REFUSED";
    case Rcode::yxdomain: return "YXDOMAIN";
    case Rcode::yxrrset: return "YXRRSET";
    case Rcode::nxrrset: return "NXRRSET";
    case Rcode::notauth: return "NOTAUTH";
    case Rcode::notzone: return "NOTZONE";
    case Rcode::badvers: return "BADVERS";
    case Rcode::badcookie: return "BADCOOKIE";
  }
  return "RCODE?";
}

constexpr const char* to_string(Section s) noexcept {
  switch (s) {
    case Section::question: return "QUESTION";
    case Section::answer: return "ANSWER";
    case Section::authority: return "AUTHORITY";
    case Section::additional: return "ADDITIONAL";
  }
  return "SECTION?";
}

}  // namespace svcres::dns
