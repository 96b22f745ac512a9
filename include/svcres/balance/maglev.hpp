#pragma once
// Maglev consistent hashing (Eisenbud et al., NSDI 2016), split in two:
//   MaglevIndex<M>  the lookup table, an EndpointTable Index: rebuilt by the table's writer inside
//                   publish() on the buffer that is not current, so the pick path never builds
//                   anything. Its cells are relaxed atomics: a reader of a stale view may read
//                   them during a rebuild (the table's validation discards what it saw).
//   Maglev          the policy: entry = table[hash(key) mod M]; ctx.key when has_key, else random.
//
//   using Table = svcres::EndpointTable<64, svcres::MaglevIndex<>>;
//   auto table = std::make_unique<Table>();   // 2 x 128 KiB of lookup tables: not for the stack
//
// M must be prime (static_assert). Balance: each entry gets floor(M/N) or ceil(M/N) table cells, so
// max/mean <= 1 + N/M; keep M >= 100 x N for 1 % (65537 serves up to 655 endpoints). Removing one of N
// endpoints moves its 1/N of keys plus a small extra share (the paper's "minimal disruption").
// Weights are not used: every endpoint gets an equal share.
// Filtering: when the cell's entry is ejected or avoided, the following cells are probed, so that
// entry's keys spread over the others in table proportion while every other key stays put.
// Sets larger than MaxHosts (the writer's scratch size) or than 65535 leave the index empty and the
// policy falls back to hashing the key over the allowed entries (consistent only per fixed set).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "svcres/balance/choose.hpp"
#include "svcres/balance/pick_context.hpp"
#include "svcres/core/endpoint.hpp"

namespace svcres {

namespace detail {
constexpr bool is_prime(std::size_t m) noexcept {
  if (m < 2) return false;
  for (std::size_t d = 2; d * d <= m; ++d)
    if (m % d == 0) return false;
  return true;
}
// splitmix64 finaliser: spreads keys and identity hashes over all 64 bits.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
}  // namespace detail

template <std::size_t M = 65537, std::size_t MaxHosts = 1024>
class MaglevIndex {
  static_assert(detail::is_prime(M), "MaglevIndex table size M must be prime (65537 is the default).");
  static_assert(M < (std::size_t{1} << 32), "MaglevIndex table size M must fit in 32 bits.");
  static_assert(MaxHosts >= 1 && MaxHosts < 0xFFFF, "MaglevIndex MaxHosts must be between 1 and 65534.");

 public:
  static constexpr std::size_t table_size = M;
  static constexpr std::uint16_t kEmpty = 0xFFFF;

  // Writer side (EndpointTable::publish). O(M log M) expected; about 1 ms for M = 65537.
  // Relaxed everywhere: the table's buffer sequence orders these stores for readers (see
  // endpoint_table.hpp); the writer reads back only its own stores.
  void rebuild(const Endpoint* eps, std::size_t n) noexcept {
    n_.store(0, std::memory_order_relaxed);
    if (n == 0 || n > MaxHosts) return;
    for (std::size_t c = 0; c < M; ++c) cells_[c].store(kEmpty, std::memory_order_relaxed);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t h = eps[i].identity_hash();
      pos_[i] = static_cast<std::uint32_t>(detail::mix64(h ^ 0x6d61676c65763031ull) % M);      // offset
      skip_[i] = static_cast<std::uint32_t>(detail::mix64(h ^ 0x736b697070696e67ull) % (M - 1) + 1);
    }
    // Each entry in turn claims the next free cell of its own permutation (offset + j x skip) mod M;
    // M prime makes every permutation visit every cell, so the loop ends when the table is full.
    std::size_t filled = 0;
    for (;;) {
      for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t c = pos_[i];
        while (cells_[c].load(std::memory_order_relaxed) != kEmpty) c = static_cast<std::uint32_t>((c + skip_[i]) % M);
        cells_[c].store(static_cast<std::uint16_t>(i), std::memory_order_relaxed);
        pos_[i] = static_cast<std::uint32_t>((c + skip_[i]) % M);
        if (++filled == M) {
          n_.store(n, std::memory_order_relaxed);
          return;
        }
      }
    }
  }

  // Entries of the set the table was built for; 0 when it could not be built.
  std::size_t hosts() const noexcept { return n_.load(std::memory_order_relaxed); }
  std::uint16_t cell(std::size_t c) const noexcept { return cells_[c].load(std::memory_order_relaxed); }
  // Cell for a key: a multiply-shift instead of a 64-bit modulo on the pick path.
  static std::size_t cell_of(std::uint64_t key) noexcept {
    return static_cast<std::size_t>((detail::mix64(key) >> 32) * M >> 32);
  }

 private:
  std::atomic<std::size_t> n_{0};
  std::atomic<std::uint16_t> cells_[M] = {};
  std::uint32_t pos_[MaxHosts] = {};  // writer scratch
  std::uint32_t skip_[MaxHosts] = {};
};

template <class I>
struct is_maglev_index : std::false_type {};
template <std::size_t M, std::size_t H>
struct is_maglev_index<MaglevIndex<M, H>> : std::true_type {};

class Maglev {
 public:
  // How many following cells to try when the cell's entry is filtered out, before falling back to
  // a hash over the allowed entries.
  static constexpr std::size_t kProbes = 64;

  template <class Snapshot>
  std::size_t pick(const Snapshot& s, PickContext& c) const noexcept {
    using Index = std::decay_t<decltype(s.index())>;
    static_assert(is_maglev_index<Index>::value,
                  "The Maglev policy needs a table built with a Maglev index: "
                  "svcres::EndpointTable<Capacity, svcres::MaglevIndex<>>.");
    const std::size_t n = s.size();
    if (n == 0) return no_pick;
    const std::uint64_t key = c.has_key ? c.key : c.rng();
    return detail::relax_avoid(c, [&]() -> std::size_t {
      const Index& ix = s.index();
      if (ix.hosts() == n) {
        std::size_t cell = Index::cell_of(key);
        for (std::size_t p = 0; p < kProbes; ++p) {
          std::size_t i = ix.cell(cell);
          if (i < n && c.allowed(i)) return i;  // i >= n only in a stale view caught mid-rebuild
          if (++cell == Index::table_size) cell = 0;
        }
      }
      std::size_t k = detail::count_allowed(s, c, no_pick);
      if (k == 0) return no_pick;
      return detail::nth_allowed(s, c, static_cast<std::size_t>(detail::mix64(key ^ 0x5a5a) % k), no_pick);
    });
  }
};

}  // namespace svcres
