#pragma once
// EndpointTable<Capacity, Index>: the current endpoint set of one service, published by one writer
// and read by any number of threads, with per-endpoint statistics that survive republishing.
//
// API
//   Status publish(const Endpoint* eps, std::size_t n)   writer: make eps[0..n) the current set
//   Snapshot snapshot() const                           reader: pin the current set (RAII)
//     snap.size(), snap.endpoint(i), snap.stats(i)      read the pinned set and its live stats
//     SlotRef ref = snap.start(i)                       begin a lease on entry i (in_flight + 1)
//     snap.index()                                      the Index built for this set (e.g. Maglev)
//   EndpointStats* stats(SlotRef)                       the slot of a started lease (after unpinning)
//   void finish(SlotRef)                                end the lease (in_flight - 1); ref is dead after
//
// CONCURRENCY CONTRACT
// - publish() is called by one thread at a time (the refresher); the caller serialises writers.
//   snapshot(), stats(), finish() and everything on a Snapshot may be called from any thread.
// - A Snapshot may be moved and released on another thread (that path costs one atomic RMW more).
// - Readers never wait for the writer and never take a lock. snapshot() is lock-free: it retries
//   only when a publish switched the current set between its two loads, which a reader can see at
//   most once per publish. The writer never waits for readers either: when every spare buffer is
//   still pinned, or no slot can be reclaimed yet, publish() returns Errc::table_busy and changes
//   nothing; the caller retries at its next refresh.
// - A Snapshot sees exactly one published set, complete, for as long as it lives: set buffers are
//   immutable while pinned. Pin briefly (pick, start, copy the endpoint), then let it go: a pinned
//   buffer cannot be reused, and K pinned buffers make publish() fail.
// - Identity (address + port) maps to a stable slot holding EndpointStats. Republishing a set that
//   still contains an identity keeps its slot and statistics. A slot is given to a new identity only
//   when (a) no set buffer that any reader could still pin refers to it and (b) its in_flight count
//   is zero, i.e. every lease started on it has finished. So a finish() or a stats update can never
//   land on an endpoint that replaced the old one; SlotRef::generation lets stats() check this too.
// - A lease that is never finished keeps its slot retired forever (a leak of one slot, never a
//   misattribution). The table has 2 x Capacity slots so that a full set can be republished with
//   entirely new identities while the previous set is still pinned.
//
// RECLAMATION
// K = 4 buffers, with reader counts in 17 shards of one cache line each. Each of the first 16
// threads that take a snapshot owns a shard for good (see detail::claim_shard); any further thread
// shares the 17th. In its own shard a thread changes its count with a plain
// atomic load + store (no read-modify-write: nobody else writes that word), and a Snapshot released
// on another thread than the one that took it adds to the shard's separate `remote` count instead;
// the buffer's pin count in a shard is readers - remote (mod 2^32). In the shared overflow shard all
// changes are read-modify-writes. So on the common path a pick costs one full barrier (the seq_cst
// store) and touches only its own cache line: readers on different threads never contend.
// Reader: load current index, raise its count for that buffer, load the current index again; if it
// changed, lower the count and retry. The writer fills a buffer that is not current and whose counts
// (every shard) read zero, stores it as current, and on the next publish reclaims every non-current
// buffer whose counts read zero. The two "store then load" pairs form the Dekker pattern, so those
// operations are seq_cst: on x86 and ARMv8 alike that is what makes "writer saw zero" imply "the
// reader's re-check sees the new index". The writer reads `readers` before `remote`; remote only
// grows, so a race can only make the difference larger (a buffer kept a little longer), never
// smaller than the number of live pins. Everything else is acquire/release or relaxed, as commented.
//
// MEMORY: everything lives inside the object (no allocation, ever): about
// 4 x Capacity x sizeof(Entry) + 2 x Capacity x 128 bytes + 4 x sizeof(Index). With a Maglev index
// that is ~0.5 MiB, so create large tables with static storage or make_unique, not on the stack.
//
// Index: a type with `void rebuild(const Endpoint* eps, std::size_t n) noexcept`, default
// constructible, run by the writer on a buffer no reader can see (so pick paths never build
// anything). NoIndex does nothing.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "svcres/core/endpoint.hpp"
#include "svcres/core/result.hpp"
#include "svcres/table/endpoint_stats.hpp"

namespace svcres {

// Names the slot a lease was started on, and which identity owned it then.
struct SlotRef {
  std::uint32_t slot = ~std::uint32_t{0};
  std::uint32_t generation = 0;
  bool valid() const noexcept { return slot != ~std::uint32_t{0}; }
};

namespace detail {
// Reader shards: kReaderShards exclusive ones, each owned by one thread at a time, plus one shared
// overflow shard (index kReaderShards) for threads beyond that.
inline constexpr std::size_t kReaderShards = 16;

// The first kReaderShards threads that ever take a snapshot (of any table) each own one shard for
// the rest of the process; later threads share the overflow shard. Ownership is never handed back:
// a thread-exit hook would need thread_local with a destructor, and registering one can allocate
// inside the C library on the first pick of every thread. Saturating, so ids never wrap.
inline std::size_t claim_shard() noexcept {
  static std::atomic<std::uint32_t> next{0};
  // Relaxed: hands out distinct numbers; nothing else is published through it.
  std::uint32_t k = next.load(std::memory_order_relaxed);
  while (k < kReaderShards) {
    if (next.compare_exchange_weak(k, k + 1, std::memory_order_relaxed, std::memory_order_relaxed)) return k;
  }
  return kReaderShards;
}

// This thread's shard: exclusive (0..15) or the overflow shard (16). Trivially destructible.
inline std::size_t this_thread_shard() noexcept {
  thread_local const std::size_t mine = claim_shard();
  return mine;
}
}  // namespace detail

struct NoIndex {
  void rebuild(const Endpoint*, std::size_t) noexcept {}
};

template <class I, class = void>
struct is_table_index : std::false_type {};
template <class I>
struct is_table_index<I, std::void_t<decltype(std::declval<I&>().rebuild(std::declval<const Endpoint*>(),
                                                                          std::size_t{}))>>
    : std::is_default_constructible<I> {};

template <std::size_t Capacity, class Index = NoIndex>
class EndpointTable {
  static_assert(Capacity > 0 && Capacity <= 65535, "EndpointTable capacity must be between 1 and 65535 endpoints.");
  static_assert(is_table_index<Index>::value,
                "An EndpointTable Index must be default-constructible and have a member "
                "`void rebuild(const svcres::Endpoint* eps, std::size_t n) noexcept`.");

 public:
  static constexpr std::size_t kBuffers = 4;
  static constexpr std::size_t kSlots = 2 * Capacity;
  static constexpr std::size_t kReaderShards = detail::kReaderShards;
  static constexpr std::size_t capacity() noexcept { return Capacity; }
  using index_type = Index;

 private:
  struct Entry {
    Endpoint endpoint;
    std::uint32_t slot = 0;
  };
  struct Buffer {
    std::size_t size = 0;
    std::uint64_t version = 0;  // publish count that produced it; 0 = never published
    Entry entries[Capacity];
    Index index;
  };
  // One shard: its counts for every buffer, alone on its cache line (see RECLAMATION).
  struct alignas(kCacheLine) PinShard {
    std::atomic<std::uint32_t> readers[kBuffers] = {};  // owner's pins (RMW in the overflow shard)
    std::atomic<std::uint32_t> remote[kBuffers] = {};   // releases by threads other than the owner
  };
  static_assert(sizeof(PinShard) == kCacheLine, "Each reader shard must own exactly one cache line.");
  static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "Reader counts must be lock-free atomics.");

 public:
  class Snapshot {
   public:
    Snapshot(const Snapshot&) = delete;
    Snapshot& operator=(const Snapshot&) = delete;
    Snapshot(Snapshot&& o) noexcept : table_(o.table_), buf_(o.buf_), shard_(o.shard_) { o.table_ = nullptr; }
    Snapshot& operator=(Snapshot&& o) noexcept {
      if (this != &o) {
        unpin();
        table_ = o.table_;
        buf_ = o.buf_;
        shard_ = o.shard_;
        o.table_ = nullptr;
      }
      return *this;
    }
    ~Snapshot() { unpin(); }

    static constexpr std::size_t capacity() noexcept { return Capacity; }
    std::size_t size() const noexcept { return b().size; }
    bool empty() const noexcept { return b().size == 0; }
    // Publish count of this set (1 for the first publish); two snapshots with equal versions hold
    // the same set.
    std::uint64_t version() const noexcept { return b().version; }
    const Endpoint& endpoint(std::size_t i) const noexcept { return b().entries[i].endpoint; }
    // Live statistics of entry i's slot. Shared with every other reader; atomics only.
    EndpointStats& stats(std::size_t i) const noexcept { return table_->slots_[b().entries[i].slot]; }
    SlotRef ref(std::size_t i) const noexcept {
      std::uint32_t s = b().entries[i].slot;
      // Relaxed: the generation of a slot in a pinned set cannot change (the writer reuses only
      // unreferenced slots), and the pin's acquire already made the writer's reset visible.
      return SlotRef{s, table_->slots_[s].generation.load(std::memory_order_relaxed)};
    }
    // Starts a lease on entry i. Must be called while pinned (that is what keeps the slot from being
    // reclaimed between the pick and the increment); the returned ref stays valid after unpinning
    // until EndpointTable::finish(ref).
    SlotRef start(std::size_t i) const noexcept {
      SlotRef r = ref(i);
      // Relaxed: the pin's release in unpin() orders this increment before the writer's seq_cst
      // read of the pin count, which is what the writer's reclamation relies on.
      table_->slots_[r.slot].in_flight.fetch_add(1, std::memory_order_relaxed);
      return r;
    }
    const Index& index() const noexcept { return b().index; }
    // Slots of this table currently under ejection (for a fast "nobody is ejected" path).
    std::atomic<std::int32_t>& ejected_counter() const noexcept { return table_->ejected_->value; }

   private:
    friend class EndpointTable;
    Snapshot(const EndpointTable* t, std::size_t buf, std::size_t shard) noexcept
        : table_(t), buf_(buf), shard_(shard) {}
    const Buffer& b() const noexcept { return table_->buffers_[buf_]; }
    void unpin() noexcept {
      if (!table_) return;
      // Release (all three): everything this reader did under the pin (reads of the buffer,
      // in_flight increments) happens-before the writer's seq_cst load that reads the count.
      PinShard& shard = table_->pins_[shard_];
      if (shard_ == kReaderShards) {
        shard.readers[buf_].fetch_sub(1, std::memory_order_release);
      } else if (detail::this_thread_shard() == shard_) {
        // Only this thread writes this word: a plain decrement is exact.
        shard.readers[buf_].store(shard.readers[buf_].load(std::memory_order_relaxed) - 1,
                                  std::memory_order_release);
      } else {
        shard.remote[buf_].fetch_add(1, std::memory_order_release);  // released on another thread
      }
      table_ = nullptr;
    }
    const EndpointTable* table_;
    std::size_t buf_;
    std::size_t shard_;
  };

  EndpointTable() noexcept = default;
  EndpointTable(const EndpointTable&) = delete;
  EndpointTable& operator=(const EndpointTable&) = delete;

  // Writer only (see contract). Errc::capacity_exceeded if n > Capacity; Errc::table_busy if readers
  // still pin every spare buffer or every spare slot has unfinished leases (nothing changed; retry).
  // Entries with the same identity share one slot (RFC 2782 lets a task appear under two priorities).
  Status publish(const Endpoint* eps, std::size_t n) noexcept {
    if (n > Capacity) return Errc::capacity_exceeded;
    if (n > 0 && eps == nullptr) return Errc::invalid_argument;
    reclaim_buffers();
    std::size_t target = kBuffers;
    for (std::size_t k = 0; k < kBuffers; ++k)
      if (k != current_index() && !live_[k]) { target = k; break; }
    if (target == kBuffers) return Errc::table_busy;

    // Map identities to slots. Tentative assignments are undone if we run out of slots.
    std::uint32_t* assigned = scratch_assigned_;
    std::uint32_t* fresh = scratch_fresh_;
    std::size_t fresh_count = 0;
    const std::uint8_t bit = static_cast<std::uint8_t>(1u << target);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t h = eps[i].identity_hash();  // computed once for both searches
      std::uint32_t s = find_slot(eps[i], h);
      if (s == kNoSlot) {
        s = claim_slot(eps[i], h);
        if (s == kNoSlot) {
          for (std::size_t k = 0; k < i; ++k) owners_[assigned[k]].buffers &= static_cast<std::uint8_t>(~bit);
          for (std::size_t k = 0; k < fresh_count; ++k) owners_[fresh[k]].owned = false;
          return Errc::table_busy;
        }
        fresh[fresh_count++] = s;
      }
      owners_[s].buffers |= bit;
      assigned[i] = s;
    }
    // Only now touch the slots' shared state: reset the freshly claimed ones. No reader can reach
    // them (see claim_slot), and the seq_cst store of current_ below publishes the reset.
    for (std::size_t k = 0; k < fresh_count; ++k) {
      EndpointStats& st = slots_[fresh[k]];
      if (st.ejected_until_ns.load(std::memory_order_relaxed) != 0)
        ejected_->value.fetch_sub(1, std::memory_order_relaxed);
      st.reset(++owners_[fresh[k]].generation);
    }
    Buffer& b = buffers_[target];
    b.size = n;
    b.version = ++version_;
    for (std::size_t i = 0; i < n; ++i) {
      b.entries[i].endpoint = eps[i];
      b.entries[i].slot = assigned[i];
    }
    b.index.rebuild(eps, n);
    live_[target] = true;
    // seq_cst (a release at least): pairs with the reader's loads in snapshot(), making the buffer's
    // contents and the slot resets visible; seq_cst for the Dekker pairing described at the top.
    current_.store(static_cast<std::uint32_t>(target), std::memory_order_seq_cst);
    return Status{};
  }

  Snapshot snapshot() const noexcept {
    const std::size_t shard = detail::this_thread_shard();
    PinShard& pins = pins_[shard];
    const bool exclusive = shard != kReaderShards;
    for (;;) {
      // seq_cst: first half of the reader side of the Dekker pairing with publish()/reclaim_buffers().
      std::uint32_t i = current_.load(std::memory_order_seq_cst);
      std::atomic<std::uint32_t>& count = pins.readers[i];
      // seq_cst store (or RMW in the shared shard): the Dekker store; it must not be reordered with
      // the re-check below, which is what seq_cst on both guarantees (xchg on x86, stlr+ldar on ARM).
      if (exclusive) {
        count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
      } else {
        count.fetch_add(1, std::memory_order_seq_cst);
      }
      // seq_cst: if the writer read this buffer's count before our increment, this load is ordered
      // after its store of a new current_ and sees it, so we never read a buffer being rewritten.
      if (current_.load(std::memory_order_seq_cst) == i) return Snapshot(this, i, shard);
      // Read nothing; undo.
      if (exclusive) {
        count.store(count.load(std::memory_order_relaxed) - 1, std::memory_order_release);
      } else {
        count.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  // The stats of a started lease's slot, or nullptr if the slot no longer belongs to that lease's
  // identity (impossible for a ref from start() that has not been finished: see the contract).
  EndpointStats* stats(SlotRef r) noexcept {
    if (!r.valid() || r.slot >= kSlots) return nullptr;
    EndpointStats& st = slots_[r.slot];
    return st.generation.load(std::memory_order_relaxed) == r.generation ? &st : nullptr;
  }

  // Ends a lease; call exactly once per start(), after the last stats update for it.
  void finish(SlotRef r) noexcept {
    if (!r.valid() || r.slot >= kSlots) return;
    // Release: pairs with the writer's acquire load of in_flight in claim_slot(); every stats update
    // this lease made is complete before the slot can be reset for another identity.
    slots_[r.slot].in_flight.fetch_sub(1, std::memory_order_release);
  }

  // Writer-side introspection for tests and metrics (writer thread only).
  std::size_t slots_in_use() const noexcept {
    std::size_t c = 0;
    for (const auto& o : owners_) c += o.owned ? 1 : 0;
    return c;
  }
  std::uint64_t version() const noexcept { return version_; }

 private:
  static constexpr std::uint32_t kNoSlot = ~std::uint32_t{0};

  // Writer-private bookkeeping for one slot; readers never touch it.
  struct Owner {
    IpAddress address;
    std::uint16_t port = 0;
    bool owned = false;
    std::uint8_t buffers = 0;  // bit k: buffer k refers to this slot
    std::uint32_t generation = 0;
    std::uint64_t hash = 0;
  };
  static_assert(kBuffers <= 8, "Owner::buffers is an 8-bit mask of buffers.");

  std::size_t current_index() const noexcept { return current_.load(std::memory_order_relaxed); }  // writer's own store

  // Every buffer that is not current and whose count reads zero can never be read again: any
  // reader that bumps its count later fails its re-check of current_ (Dekker pairing).
  void reclaim_buffers() noexcept {
    const std::size_t cur = current_index();
    for (std::size_t k = 0; k < kBuffers; ++k) {
      if (k == cur || !live_[k]) continue;
      if (pinned(k)) continue;
      const std::uint8_t mask = static_cast<std::uint8_t>(~(1u << k));
      for (std::size_t i = 0; i < buffers_[k].size; ++i) owners_[buffers_[k].entries[i].slot].buffers &= mask;
      live_[k] = false;
    }
  }

  bool pinned(std::size_t k) const noexcept {
    for (const PinShard& shard : pins_) {
      // seq_cst: writer side of the Dekker pairing; also acquires the readers' unpin releases.
      // `readers` first, then `remote` (see RECLAMATION for why this order is safe).
      const std::uint32_t held = shard.readers[k].load(std::memory_order_seq_cst);
      const std::uint32_t released = shard.remote[k].load(std::memory_order_seq_cst);
      if (held - released != 0) return true;
    }
    return false;
  }

  std::uint32_t find_slot(const Endpoint& e, std::uint64_t h) const noexcept {
    for (std::uint32_t s = 0; s < kSlots; ++s) {
      const Owner& o = owners_[s];
      if (o.owned && o.hash == h && o.port == e.port && o.address == e.address) return s;
    }
    return kNoSlot;
  }

  // A slot for a new identity: never owned, or owned by an identity that no live buffer refers to
  // and that has no unfinished lease.
  // `h` is e.identity_hash().
  std::uint32_t claim_slot(const Endpoint& e, std::uint64_t h) noexcept {
    for (std::uint32_t s = 0; s < kSlots; ++s) {
      Owner& o = owners_[s];
      if (o.owned) {
        if (o.buffers != 0) continue;
        // Acquire: pairs with finish()'s release, so the last lease's stats updates are done
        // before reset() overwrites them. Leases start only under a pin of a buffer that refers
        // to the slot, and none is left, so the count cannot rise again.
        if (slots_[s].in_flight.load(std::memory_order_acquire) != 0) continue;
      }
      o.owned = true;
      o.address = e.address;
      o.port = e.port;
      o.hash = h;
      o.buffers = 0;
      return s;
    }
    return kNoSlot;
  }

  struct alignas(kCacheLine) Counter {
    std::atomic<std::int32_t> value{0};
  };

  alignas(kCacheLine) std::atomic<std::uint32_t> current_{0};
  mutable PinShard pins_[kReaderShards + 1];  // [kReaderShards] is the shared overflow shard
  mutable EndpointStats slots_[kSlots];
  mutable Counter ejected_[1];
  // Written by the writer only; read by readers only through a pinned buffer.
  Buffer buffers_[kBuffers];
  // Writer-private.
  Owner owners_[kSlots];
  bool live_[kBuffers] = {true, false, false, false};  // buffer 0 starts current, empty
  std::uint32_t scratch_assigned_[Capacity] = {};     // publish() scratch, kept off the stack
  std::uint32_t scratch_fresh_[Capacity] = {};
  std::uint64_t version_ = 0;
};

}  // namespace svcres
