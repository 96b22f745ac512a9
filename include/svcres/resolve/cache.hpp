#pragma once
// Cache<N, Capacity>: fixed-capacity answer cache keyed by (name, type), case-insensitive.
//
// - Positive entries live for the answer's TTL, which the resolver sets to the smallest TTL of the
//   records used, capped (RFC 2181 §8 allows a cap; RFC 1035 §3.2.1 TTL semantics).
// - Negative entries (nxdomain, nodata) live for their negative TTL, min(SOA TTL, SOA MINIMUM)
//   (RFC 2308 §5), or a short default when the response had no SOA.
// - Every entry is kept a further `stale_window` after expiry so that get_stale() can serve it when
//   every server fails (RFC 8767 §4); get() never returns an expired entry.
// - When full, the entry whose stale window ends first is replaced.
// - put() with a TTL of 0 erases the entry, so an answer that must not be cached also ends the
//   older one's life, stale window included.
// Not thread-safe by itself: the Resolver holds its mutex around every call. Lookup is a linear
// scan of the used 64-bit hashes, then one name compare, both 8 bytes a step; no allocation anywhere.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "svcres/core/clock.hpp"
#include "svcres/dns/name.hpp"
#include "svcres/dns/types.hpp"
#include "svcres/dns/wire.hpp"
#include "svcres/resolve/answer.hpp"

namespace svcres {
namespace detail {

// ASCII lower-casing of 8 wire bytes at once (RFC 1035 §2.3.3: names compare case-insensitively,
// ASCII letters only). Per byte: the low 7 bits plus a bias set bit 7 iff the byte is >= 'A' or
// > 'Z'; the sums stay below 0x100, so nothing carries into the next byte. Bytes >= 0x80 are kept.
inline std::uint64_t lower8(std::uint64_t w) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
  const std::uint64_t low7 = w & ~high;
  const std::uint64_t ge_a = low7 + ones * (0x80 - 'A');
  const std::uint64_t gt_z = low7 + ones * (0x7f - 'Z');
  const std::uint64_t upper = ge_a & ~gt_z & ~w & high;
  return w | (upper >> 2);  // bit 7 -> bit 5 (0x20)
}

// The 8 wire bytes from i, for i < size. The last step reads the final 8 bytes instead (overlapping
// the previous step) so no byte past the name is touched: the buffer past wire_size() is
// uninitialised. Names shorter than 8 bytes are read byte by byte, zero-filled.
inline std::uint64_t load8(const std::uint8_t* w, std::size_t size, std::size_t i) noexcept {
  std::uint64_t v = 0;
  if (size >= 8) {
    std::memcpy(&v, w + (size - i >= 8 ? i : size - 8), 8);
  } else {
    for (std::size_t k = 0; k < size; ++k) v |= static_cast<std::uint64_t>(w[k]) << (8 * k);
  }
  return v;
}

// A multiply-xorshift hash over the wire name, 8 bytes a step, and the type. Every byte has 0x20
// OR-ed in, which folds ASCII case (RFC 1035 §2.3.3): names that compare equal hash alike, and the
// few other byte pairs it merges only cost a compare. The cache-hit path hashes every lookup, so
// this is a few operations per 8 bytes instead of a lower-casing per step or FNV's multiply per byte.
inline std::uint64_t cache_hash(const dns::Name& name, dns::Type type) noexcept {
  const std::uint8_t* w = name.wire();
  const std::size_t size = name.wire_size();
  std::uint64_t h = (0x9e3779b97f4a7c15ull ^ size) + static_cast<std::uint16_t>(type);
  for (std::size_t i = 0; i < size; i += 8) {
    h = (h ^ (load8(w, size, i) | 0x2020202020202020ull)) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  return h | 1;  // 0 marks a free slot
}

// Case-insensitive equality of two wire names (what dns::Name::equals does), 8 bytes a step. Names
// are usually spelled alike, so the words are compared as they are first; lower-casing starts only
// at the first word that differs (the words before it are equal either way).
inline bool same_name(const dns::Name& a, const dns::Name& b) noexcept {
  const std::size_t size = a.wire_size();
  if (size != b.wire_size()) return false;
  std::size_t i = 0;
  while (i < size && load8(a.wire(), size, i) == load8(b.wire(), size, i)) i += 8;
  for (; i < size; i += 8)
    if (lower8(load8(a.wire(), size, i)) != lower8(load8(b.wire(), size, i))) return false;
  return true;
}

}  // namespace detail

template <std::size_t N, std::size_t Capacity>
class Cache {
  static_assert(Capacity > 0, "Cache needs a capacity of at least one entry.");

 public:
  explicit Cache(Duration stale_window = std::chrono::minutes(5)) noexcept : stale_window_(stale_window) {}

  // A fresh entry (now < expiry): copied into `out` with ttl set to the seconds left.
  bool get(const dns::Name& name, dns::Type type, TimePoint now, Answer<N>& out) const noexcept {
    const Entry* e = find(name, type);
    if (!e || now >= e->expires) return false;
    out.assign(e->answer);  // from_cache and packets as put() stored them for every reader
    out.ttl = seconds_left(e->expires, now);
    return true;
  }

  // An expired entry still inside the stale window, marked stale (RFC 8767 §4). Only positive
  // entries are served stale: a stale "does not exist" helps nobody.
  bool get_stale(const dns::Name& name, dns::Type type, TimePoint now, Answer<N>& out) const noexcept {
    const Entry* e = find(name, type);
    if (!e || !e->answer.ok() || now >= e->expires + stale_window_) return false;
    out.assign(e->answer);
    out.stale = now >= e->expires;
    return true;
  }

  // Stores `a` for a.ttl seconds. A TTL of 0 is not stored (RFC 1035 §3.2.1: use only once) and
  // erases what was stored for the name: the newer answer says the older one must not be used, not
  // even stale (a refresh that got TTL 0, or NXDOMAIN with SOA MINIMUM 0).
  void put(const dns::Name& name, dns::Type type, const Answer<N>& a, TimePoint now) noexcept {
    if (a.ttl == 0) return erase(name, type);
    std::size_t i = index_of(name, type);
    if (i == Capacity) {
      // A never-used or erased slot, else the entry whose stale window ends first.
      i = 0;
      for (std::size_t k = 0; k < Capacity && entries_[i].hash != 0; ++k)
        if (entries_[k].hash == 0 || entries_[k].expires < entries_[i].expires) i = k;
    }
    Entry& slot = entries_[i];
    slot.hash = detail::cache_hash(name, type);
    slot.name = name;
    slot.type = type;
    slot.answer.assign(a);
    slot.answer.stale = false;
    slot.answer.from_cache = true;  // as every reader sees it
    slot.answer.packets = 0;
    slot.expires = now + std::chrono::seconds(a.ttl);
    if (i >= size_) size_ = i + 1;
  }

  void erase(const dns::Name& name, dns::Type type) noexcept {
    const std::size_t i = index_of(name, type);
    if (i != Capacity) entries_[i].hash = 0;
  }
  void clear() noexcept {
    for (auto& e : entries_) e.hash = 0;
    size_ = 0;
  }
  Duration stale_window() const noexcept { return stale_window_; }
  static constexpr std::size_t capacity() noexcept { return Capacity; }

 private:
  struct Entry {
    std::uint64_t hash = 0;
    dns::Type type = dns::Type::A;
    TimePoint expires{};
    dns::Name name;
    Answer<N> answer;
  };

  static std::uint32_t seconds_left(TimePoint expires, TimePoint now) noexcept {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(expires - now).count();
    return static_cast<std::uint32_t>((left + 999) / 1000);
  }

  const Entry* find(const dns::Name& name, dns::Type type) const noexcept {
    const std::size_t i = index_of(name, type);
    return i == Capacity ? nullptr : &entries_[i];
  }
  // The index of the entry for (name, type), or Capacity.
  std::size_t index_of(const dns::Name& name, dns::Type type) const noexcept {
    const std::uint64_t h = detail::cache_hash(name, type);
    std::size_t i = 0;
    for (; i < size_; ++i) {
      const Entry& e = entries_[i];
      if (e.hash == h && e.type == type && detail::same_name(e.name, name)) return i;
    }
    return Capacity;
  }

  Entry entries_[Capacity];
  std::size_t size_ = 0;  // entries_[size_..] have never been used
  Duration stale_window_;
};

}  // namespace svcres
