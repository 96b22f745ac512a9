#pragma once
// Name: a domain name held by value in uncompressed wire form (at most 255 bytes, inline, no heap).
//
// Comparison is ASCII case-insensitive (RFC 1035 §2.3.3, RFC 4343 §3) except equals_exact(), which
// DNS 0x20 needs to check that a server echoed the question's case. The text form is the master-file
// presentation format (RFC 1035 §5.1): labels joined by '.', a trailing '.' for the root, and every
// byte that is not a printable, non-special ASCII character written as \DDD.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "svcres/core/random.hpp"
#include "svcres/core/result.hpp"
#include "svcres/dns/limits.hpp"
#include "svcres/dns/wire.hpp"

namespace svcres::dns {

// Fixed-size presentation text of a name; always NUL-terminated.
struct NameText {
  std::array<char, max_name_text> chars{};
  std::uint16_t size = 0;
  std::string_view view() const noexcept { return {chars.data(), size}; }
  const char* c_str() const noexcept { return chars.data(); }
};

namespace detail {

// Bytes written as-is in presentation format; everything else becomes \DDD. The specials
// . \ " ( ) ; @ $ have meaning in master files (RFC 1035 §5.1), so they are escaped too.
constexpr bool is_plain_text_byte(std::uint8_t c) noexcept {
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case '.': case '\\': case '"': case '(': case ')': case ';': case '@': case '$': return false;
    default: return true;
  }
}

// Writes the presentation form of an uncompressed wire name (already validated) into `text`.
inline void wire_to_text(const std::uint8_t* wire, NameText& text) noexcept {
  char* out = text.chars.data();
  std::size_t n = 0;
  std::size_t p = 0;
  if (wire[0] == 0) {
    out[n++] = '.';
  }
  while (wire[p] != 0) {
    const std::size_t len = wire[p++];
    for (std::size_t i = 0; i < len; ++i) {
      const std::uint8_t c = wire[p + i];
      if (is_plain_text_byte(c)) {
        out[n++] = static_cast<char>(c);
      } else {
        out[n++] = '\\';
        out[n++] = static_cast<char>('0' + c / 100);
        out[n++] = static_cast<char>('0' + c / 10 % 10);
        out[n++] = static_cast<char>('0' + c % 10);
      }
    }
    p += len;
    out[n++] = '.';
  }
  out[n] = '\0';
  text.size = static_cast<std::uint16_t>(n);
}

}  // namespace detail

class Name {
 public:
  // The root name ".". The buffer past wire_size() is never read, so it is left uninitialised and
  // copies move only the bytes in use: names are copied on hot paths (to_name, Result<Name>).
  Name() noexcept { wire_[0] = 0; }
  Name(const Name& o) noexcept : size_(o.size_), labels_(o.labels_) { std::memcpy(wire_.data(), o.wire_.data(), size_); }
  Name& operator=(const Name& o) noexcept {
    size_ = o.size_;
    labels_ = o.labels_;
    std::memmove(wire_.data(), o.wire_.data(), size_);
    return *this;
  }

  // The possibly compressed name at `offset` in msg[0, size), decompressed with every check of
  // detail::walk_name (pointers strictly backwards, hop cap, lengths).
  static Result<Name> decompress(const std::uint8_t* msg, std::size_t size, std::size_t offset) noexcept {
    // One named result on every path, so it is constructed in the caller's storage (NRVO).
    Result<Name> r{Name()};
    if (const Errc e = r.value().decompress_into(msg, size, offset); e != Errc::ok) r = Result<Name>(e);
    return r;
  }

  // Presentation format: labels separated by '.', `\DDD` (decimal byte) and `\X` (X literally)
  // escapes, optional trailing '.', "." alone is the root. Relative and absolute text give the same
  // name: the codec has no origin to append.
  static Result<Name> from_text(std::string_view text) noexcept;

  // Decompresses into `n` a name inside a message that Message::parse() accepted:
  // every bound, pointer and length was checked then, so only the copy is left. Calling it on
  // unvalidated bytes is undefined.
  static void decompress_validated(Name& n, const std::uint8_t* msg, std::size_t offset) noexcept {
    std::size_t p = offset;
    std::size_t total = 0;
    unsigned labels = 0;
    std::uint8_t* out = n.wire_.data();
    for (;;) {
      // A run of labels in place up to the next pointer or the root goes in one copy. Validated
      // bytes hold only length bytes 1-63, the root and pointers, so `b - 1 < max_label` is a label.
      std::uint8_t b = msg[p];
      if (b >= 0xc0) {  // nothing in place: most owner names are a lone pointer
        p = static_cast<std::size_t>(b & 0x3f) << 8 | msg[p + 1];
        continue;
      }
      const std::size_t run = p;
      while (b - 1u < max_label) {
        p += b + 1u;
        ++labels;
        b = msg[p];
      }
      detail::copy_bytes(out + total, msg + run, p - run);
      total += p - run;
      if (b == 0) break;
      p = static_cast<std::size_t>(b & 0x3f) << 8 | msg[p + 1];
    }
    out[total] = 0;
    n.size_ = static_cast<std::uint16_t>(total + 1);
    n.labels_ = static_cast<std::uint8_t>(labels);
  }

  // An uncompressed wire name: labels, root byte last, nothing after it within `size` is looked at.
  static Result<Name> from_wire(const std::uint8_t* data, std::size_t size) noexcept {
    Name n;
    detail::NameWalk w;
    // No pointers are allowed here: with pos 0 every pointer target is "not strictly backwards".
    Errc e = detail::walk_name(data, size, 0, size, Errc::truncated, w, n.wire_.data());
    if (e == Errc::ok && w.next != w.wire_size) e = Errc::bad_pointer;
    if (e != Errc::ok) return e;
    n.size_ = w.wire_size;
    n.labels_ = w.labels;
    return n;
  }

  const std::uint8_t* wire() const noexcept { return wire_.data(); }
  std::size_t wire_size() const noexcept { return size_; }
  // Labels excluding the root: "a.b." has 2, "." has 0.
  std::size_t label_count() const noexcept { return labels_; }
  bool is_root() const noexcept { return size_ == 1; }

  bool equals(const Name& o) const noexcept {
    if (size_ != o.size_) return false;
    for (std::size_t i = 0; i < size_; ++i)
      if (detail::ascii_lower(wire_[i]) != detail::ascii_lower(o.wire_[i])) return false;
    return true;
  }
  bool equals_exact(const Name& o) const noexcept {
    return size_ == o.size_ && std::memcmp(wire_.data(), o.wire_.data(), size_) == 0;
  }
  friend bool operator==(const Name& a, const Name& b) noexcept { return a.equals(b); }
  friend bool operator!=(const Name& a, const Name& b) noexcept { return !a.equals(b); }

  NameText to_text() const noexcept {
    NameText t;
    detail::wire_to_text(wire_.data(), t);
    return t;
  }

  // This name's labels followed by `suffix` (this name's root dropped): search-list expansion.
  Result<Name> concat(const Name& suffix) const noexcept {
    if (std::size_t{size_} - 1 + suffix.size_ > max_name_wire) return Errc::name_too_long;
    Name n;
    std::memcpy(n.wire_.data(), wire_.data(), size_ - 1u);
    std::memcpy(n.wire_.data() + size_ - 1, suffix.wire_.data(), suffix.size_);
    n.size_ = static_cast<std::uint16_t>(size_ - 1 + suffix.size_);
    n.labels_ = static_cast<std::uint8_t>(labels_ + suffix.labels_);
    return n;
  }

  // True when `parent` is this name or one of its ancestors, on label boundaries, ignoring case.
  bool is_subdomain_of(const Name& parent) const noexcept {
    if (parent.labels_ > labels_) return false;
    std::size_t p = 0;
    for (std::size_t skip = labels_ - parent.labels_; skip > 0; --skip) p += wire_[p] + 1u;
    if (size_ - p != parent.size_) return false;
    for (std::size_t i = 0; i < parent.size_; ++i)
      if (detail::ascii_lower(wire_[p + i]) != detail::ascii_lower(parent.wire_[i])) return false;
    return true;
  }

  // DNS 0x20 (draft-vixie-dnsext-dns0x20): flips the case of each ASCII letter at random, so a
  // spoofed answer must also guess the case pattern the resolver then checks with equals_exact().
  void randomize_case(Rng& rng) noexcept {
    std::uint64_t bits = 0;
    unsigned left = 0;
    std::size_t p = 0;
    while (wire_[p] != 0) {
      const std::size_t len = wire_[p];
      for (std::size_t i = p + 1; i <= p + len; ++i) {
        const std::uint8_t c = detail::ascii_lower(wire_[i]);
        if (c < 'a' || c > 'z') continue;
        if (left == 0) {
          bits = rng();
          left = 64;
        }
        wire_[i] = (bits & 1) ? static_cast<std::uint8_t>(c - 0x20) : c;
        bits >>= 1;
        --left;
      }
      p += len + 1;
    }
  }

 private:
  friend class NameRef;
  struct Blank {};
  // A name that decompress_validated() is about to fill: no bytes in use, so placing it in a
  // Result copies nothing (NameRef::to_name).
  explicit Name(Blank) noexcept : size_(0) {}
  // decompress() into this name; on an error the name is left half written.
  Errc decompress_into(const std::uint8_t* msg, std::size_t size, std::size_t offset) noexcept {
    detail::NameWalk w;
    const Errc e = detail::walk_name(msg, size, offset, size, Errc::truncated, w, wire_.data());
    size_ = w.wire_size;
    labels_ = w.labels;
    return e;
  }

  std::array<std::uint8_t, max_name_wire> wire_;
  std::uint16_t size_ = 1;
  std::uint8_t labels_ = 0;
};

// Free-function form of Name::randomize_case, the name other parts of svcres use.
inline void randomize_case(Name& name, Rng& rng) noexcept { name.randomize_case(rng); }

inline Result<Name> Name::from_text(std::string_view text) noexcept {
  if (text.empty()) return Errc::bad_name_text;
  Name n;
  if (text == ".") return n;
  std::size_t out = 0;    // write position in n.wire_
  std::size_t label = 0;  // position of the current label's length byte
  std::size_t len = 0;
  bool label_open = false;
  auto room = [&](std::size_t bytes) { return out + bytes + 1 <= max_name_wire; };  // +1 for the root
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      // An empty label ("a..b", ".a") is not expressible on the wire.
      if (!label_open) return Errc::bad_name_text;
      n.wire_[label] = static_cast<std::uint8_t>(len);
      ++n.labels_;
      label_open = false;
      continue;
    }
    if (!label_open) {
      if (!room(1)) return Errc::name_too_long;
      label = out++;
      len = 0;
      label_open = true;
    }
    std::uint8_t byte;
    if (c == '\\') {
      if (++i >= text.size()) return Errc::bad_name_text;
      if (text[i] >= '0' && text[i] <= '9') {
        if (i + 2 >= text.size()) return Errc::bad_name_text;
        unsigned v = 0;
        for (std::size_t k = 0; k < 3; ++k) {
          const char d = text[i + k];
          if (d < '0' || d > '9') return Errc::bad_name_text;
          v = v * 10 + static_cast<unsigned>(d - '0');
        }
        if (v > 255) return Errc::bad_name_text;
        byte = static_cast<std::uint8_t>(v);
        i += 2;
      } else {
        byte = static_cast<std::uint8_t>(text[i]);
      }
    } else {
      byte = static_cast<std::uint8_t>(c);
    }
    if (len == max_label) return Errc::label_too_long;
    if (!room(1)) return Errc::name_too_long;
    n.wire_[out++] = byte;
    ++len;
  }
  if (label_open) {
    n.wire_[label] = static_cast<std::uint8_t>(len);
    ++n.labels_;
  }
  n.wire_[out++] = 0;
  n.size_ = static_cast<std::uint16_t>(out);
  return n;
}

}  // namespace svcres::dns
