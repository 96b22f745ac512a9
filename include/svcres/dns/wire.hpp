#pragma once
// Internals of the codec: big-endian loads and stores, a bounded cursor with a sticky error, and the
// one routine that walks a possibly compressed name. Everything that reads message bytes goes
// through here, so the bounds rules live in one place.

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "svcres/core/errc.hpp"
#include "svcres/dns/limits.hpp"

namespace svcres::dns::detail {

// Network order to host order through memcpy and a byte swap: no pointer casts, so no alignment or
// aliasing assumptions about the caller's buffer.
inline std::uint16_t load_u16(const std::uint8_t* p) noexcept {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  v = __builtin_bswap16(v);
#elif !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
  v = static_cast<std::uint16_t>(p[0] << 8 | p[1]);
#endif
  return v;
}

inline std::uint32_t load_u32(const std::uint8_t* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  v = __builtin_bswap32(v);
#elif !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
  v = static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
      static_cast<std::uint32_t>(p[2]) << 8 | p[3];
#endif
  return v;
}

inline void store_u16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

inline void store_u32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

// Copies n bytes between buffers that do not overlap, inline: names are copied one run of labels
// at a time and runs are short, where a library memcpy call costs more than the copy. Each access
// stays inside [0, n) of both buffers (overlapping chunks instead of a byte tail).
inline void copy_bytes(std::uint8_t* d, const std::uint8_t* s, std::size_t n) noexcept {
  if (n >= 16) {
    std::memcpy(d, s, 16);
    for (std::size_t i = 16; i + 16 < n; i += 16) std::memcpy(d + i, s + i, 16);
    std::memcpy(d + n - 16, s + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(d, s, 8);
    std::memcpy(d + n - 8, s + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(d, s, 4);
    std::memcpy(d + n - 4, s + n - 4, 4);
  } else if (n > 0) {
    d[0] = s[0];
    d[n / 2] = s[n / 2];
    d[n - 1] = s[n - 1];
  }
}

// RFC 1035 §2.3.3 / RFC 4343 §3: only ASCII letters fold; every other byte compares exactly.
// Length bytes (<= 63) are below 'A', so a whole wire name can be folded byte by byte.
constexpr std::uint8_t ascii_lower(std::uint8_t c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c | 0x20) : c;
}

// A read position over [data, data + size) with a sticky error, in the manner of libknot's wire
// context: after the first failure every read returns 0 and moves nothing, so a parser checks once.
class Cursor {
 public:
  Cursor(const std::uint8_t* data, std::size_t size, std::size_t pos = 0) noexcept
      : data_(data), size_(size), pos_(pos) {}

  std::size_t pos() const noexcept { return pos_; }
  std::size_t left() const noexcept { return err_ == Errc::ok ? size_ - pos_ : 0; }
  Errc error() const noexcept { return err_; }
  bool ok() const noexcept { return err_ == Errc::ok; }
  // Records the first error only: the earliest failure is the one worth reporting.
  void fail(Errc e) noexcept {
    if (err_ == Errc::ok) err_ = e;
  }
  void seek(std::size_t pos) noexcept {
    if (pos > size_) fail(Errc::truncated);
    else if (ok()) pos_ = pos;
  }
  bool need(std::size_t n) noexcept {
    if (err_ != Errc::ok) return false;
    if (size_ - pos_ < n) {
      err_ = Errc::truncated;
      return false;
    }
    return true;
  }
  std::uint8_t u8() noexcept { return need(1) ? data_[pos_++] : 0; }
  std::uint16_t u16() noexcept {
    if (!need(2)) return 0;
    std::uint16_t v = load_u16(data_ + pos_);
    pos_ += 2;
    return v;
  }
  std::uint32_t u32() noexcept {
    if (!need(4)) return 0;
    std::uint32_t v = load_u32(data_ + pos_);
    pos_ += 4;
    return v;
  }
  void skip(std::size_t n) noexcept {
    if (need(n)) pos_ += n;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_;
  Errc err_ = Errc::ok;
};

struct NameWalk {
  std::size_t next = 0;         // offset just past the name's bytes in place (after a pointer or root)
  std::uint16_t wire_size = 0;  // uncompressed wire length, root byte included
  std::uint8_t labels = 0;      // labels, root excluded
};

// The names one Message::parse has already walked successfully, by start offset, so that a
// compression pointer to one of them ends the walk instead of re-walking the name (in a typical
// answer every owner points back at the question name). Direct-mapped, fixed size, on the caller's
// stack: a collision overwrites and only costs a later re-walk; an entry is used only when its
// offset matches exactly, so the cache can miss but never answer wrongly.
class WalkedNames {
 public:
  struct Entry {
    std::uint8_t wire_size;  // of the name from this offset on, root byte included
    std::uint8_t hops;       // pointers followed from this offset on
    std::uint8_t labels;
  };
  // The slot is the offset's low bits and the tag its high bits, which never reach `empty`, so
  // clearing the table costs `slots` bytes.
  WalkedNames() noexcept { std::memset(tag_, empty, sizeof tag_); }

  const Entry* find(std::size_t offset) const noexcept {
    if (offset > max_pointer_offset) return nullptr;
    return tag_[offset % slots] == tag(offset) ? &entry_[offset % slots] : nullptr;
  }
  void add(std::size_t offset, std::size_t wire_size, unsigned hops, unsigned labels) noexcept {
    // Only offsets a 14-bit pointer can reach are worth keeping (and their tags fit a byte).
    if (offset > max_pointer_offset) return;
    tag_[offset % slots] = tag(offset);
    entry_[offset % slots] = Entry{static_cast<std::uint8_t>(wire_size), static_cast<std::uint8_t>(hops),
                                   static_cast<std::uint8_t>(labels)};
  }

 private:
  static constexpr std::size_t slots = 128;
  static constexpr std::uint8_t empty = 0xff;
  static_assert(max_pointer_offset / slots < empty,
                "WalkedNames: a pointer offset's tag (offset / slots) must fit in one byte and differ from `empty`.");
  static std::uint8_t tag(std::size_t offset) noexcept { return static_cast<std::uint8_t>(offset / slots); }
  std::uint8_t tag_[slots];
  Entry entry_[slots];
};

// Walks the name that starts at `pos` in msg[0, size), following compression pointers
// (RFC 1035 §4.1.4), and checks on every step:
// - the bytes in place stay below `limit` (message end, or rdata end for names inside rdata:
//   `overflow` is the error for crossing it, truncated or bad_rdlength);
// - a pointer points strictly before the start of the run of labels that contains it, and past the
//   header, so every jump goes to a smaller offset than the last one and no loop can exist;
// - at most max_pointer_hops jumps;
// - label types 0x40 and 0x80 are refused (RFC 6891 §5 retired the extended label type);
// - the uncompressed length never exceeds max_name_wire.
// `out`, when given, receives the uncompressed wire form (max_name_wire bytes of room).
// `seen`, when given, holds names walked before in the same message: a pointer that passed the
// checks above and lands on one of them ends the walk, provided the hop cap and max_name_wire still
// hold for the sum (otherwise the walk goes on, so the error is the one a full walk reports). That
// is sound because whether a name is valid from an offset on does not depend on how it was reached:
// after the first jump the bound is the message end and the run start is the target itself, the
// same state as when the name was first walked (under a bound at most as large). A name with labels
// in place that ends well is added to `seen`. `seen` is for validation only: with `out` it is unused.
inline Errc walk_name(const std::uint8_t* msg, std::size_t size, std::size_t pos, std::size_t limit,
                      Errc overflow, NameWalk& walk, std::uint8_t* out = nullptr,
                      WalkedNames* seen = nullptr) noexcept {
  // Nearly every owner name is a lone pointer to a name walked before (RFC 1035 §4.1.4): the
  // loop's first step and its cache hit, without its bookkeeping. A miss goes through the loop.
  if (seen && !out && pos + 2 <= limit && msg[pos] >= 0xc0) {
    const std::size_t target = static_cast<std::size_t>(msg[pos] & 0x3f) << 8 | msg[pos + 1];
    if (target >= header_size && target < pos) {
      const WalkedNames::Entry* e = seen->find(target);
      // One hop taken here plus the entry's; the length is the entry's, so max_name_wire holds.
      if (e && e->hops < max_pointer_hops) {
        walk.next = pos + 2;
        walk.wire_size = e->wire_size;
        walk.labels = e->labels;
        return Errc::ok;
      }
    }
  }
  std::size_t run_start = pos;
  std::size_t bound = limit;
  std::size_t next = 0;
  std::size_t total = 0;  // wire bytes so far, root byte not counted
  unsigned hops = 0;
  unsigned labels = 0;
  Errc past = overflow;
  bool labels_in_place = true;  // until a pointer is met: the name does not start with one
  std::size_t p = pos;
  for (;;) {
    if (p >= bound) return past;
    const std::uint8_t b = msg[p];
    // The common case first: a length byte of 1-63 (RFC 1035 §2.3.4).
    if (b - 1u < max_label) {
      if (bound - p - 1 < b) return past;
      // + 1 for the root byte that must still fit (RFC 1035 §2.3.4)
      if (total + b + 1 + 1 > max_name_wire) return Errc::name_too_long;
      if (out) std::memcpy(out + total, msg + p, b + 1u);
      total += b + 1u;
      ++labels;
      p += b + 1u;
      continue;
    }
    if (b == 0) {
      if (hops == 0) next = p + 1;
      if (out) out[total] = 0;
      walk.next = next;
      walk.wire_size = static_cast<std::uint16_t>(total + 1);
      walk.labels = static_cast<std::uint8_t>(labels);
      if (seen && labels_in_place) seen->add(pos, total + 1, hops, labels);
      return Errc::ok;
    }
    if (b < 0xc0) return Errc::bad_label_type;
    if (bound - p < 2) return past;
    const std::size_t target = static_cast<std::size_t>(b & 0x3f) << 8 | msg[p + 1];
    if (hops == 0) {
      next = p + 2;
      labels_in_place = p != pos;
      // Once compressed, the rest of the name may be anywhere earlier in the message.
      bound = size;
      past = Errc::truncated;
    }
    if (++hops > max_pointer_hops) return Errc::too_many_hops;
    if (target < header_size || target >= run_start) return Errc::bad_pointer;
    if (seen && !out) {
      const WalkedNames::Entry* e = seen->find(target);
      if (e && hops + e->hops <= max_pointer_hops && total + e->wire_size <= max_name_wire) {
        total += e->wire_size;  // root byte included from here on
        hops += e->hops;
        labels += e->labels;
        walk.next = next;
        walk.wire_size = static_cast<std::uint16_t>(total);
        walk.labels = static_cast<std::uint8_t>(labels);
        if (labels_in_place) seen->add(pos, total, hops, labels);
        return Errc::ok;
      }
    }
    run_start = target;
    p = target;
  }
}

// Offset just past a name already validated by walk_name: no pointer is followed.
inline std::size_t skip_validated_name(const std::uint8_t* msg, std::size_t pos) noexcept {
  for (;;) {
    const std::uint8_t b = msg[pos];
    if (b == 0) return pos + 1;
    if (b >= 0xc0) return pos + 2;
    pos += b + 1u;
  }
}

}  // namespace svcres::dns::detail
