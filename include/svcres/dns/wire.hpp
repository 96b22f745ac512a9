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
inline Errc walk_name(const std::uint8_t* msg, std::size_t size, std::size_t pos, std::size_t limit,
                      Errc overflow, NameWalk& walk, std::uint8_t* out = nullptr) noexcept {
  std::size_t run_start = pos;
  std::size_t bound = limit;
  std::size_t next = 0;
  std::size_t total = 0;  // wire bytes so far, root byte not counted
  unsigned hops = 0;
  unsigned labels = 0;
  Errc past = overflow;
  std::size_t p = pos;
  for (;;) {
    if (p >= bound) return past;
    const std::uint8_t b = msg[p];
    if (b == 0) {
      if (hops == 0) next = p + 1;
      if (out) out[total] = 0;
      walk.next = next;
      walk.wire_size = static_cast<std::uint16_t>(total + 1);
      walk.labels = static_cast<std::uint8_t>(labels);
      return Errc::ok;
    }
    const std::uint8_t kind = b & 0xc0;
    if (kind == 0xc0) {
      if (bound - p < 2) return past;
      const std::size_t target = static_cast<std::size_t>(b & 0x3f) << 8 | msg[p + 1];
      if (hops == 0) {
        next = p + 2;
        // Once compressed, the rest of the name may be anywhere earlier in the message.
        bound = size;
        past = Errc::truncated;
      }
      if (++hops > max_pointer_hops) return Errc::too_many_hops;
      if (target < header_size || target >= run_start) return Errc::bad_pointer;
      run_start = target;
      p = target;
      continue;
    }
    if (kind != 0) return Errc::bad_label_type;
    if (bound - p - 1 < b) return past;
    // + 1 for the root byte that must still fit (RFC 1035 §2.3.4)
    if (total + b + 1 + 1 > max_name_wire) return Errc::name_too_long;
    if (out) std::memcpy(out + total, msg + p, b + 1u);
    total += b + 1u;
    ++labels;
    p += b + 1u;
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
