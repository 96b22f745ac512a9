#pragma once
// EndpointTable<Capacity, Index>: the current endpoint set of one service, published by one writer
// and read by any number of threads, with per-endpoint statistics that survive republishing.
//
// API
//   Status publish(const Endpoint* eps, std::size_t n)   writer: make eps[0..n) the current set
//   Snapshot snapshot() const                           reader: a view of the current set
//     snap.size(), snap.endpoint(i), snap.stats(i)      read the set and its live stats
//     snap.rank(i)                                      entry i's SRV priority and weight only
//     snap.index(), snap.version(), snap.ref(i)         the set's Index (e.g. Maglev), its publish
//                                                       count, entry i's slot
//     bool snap.valid()                                 every read so far saw one published set
//     SlotRef ref = snap.start(i)                       begin a lease on entry i (in_flight + 1); an
//                                                       invalid ref if the view went stale: pick again
//   EndpointStats* stats(SlotRef)                       the slot of a started lease
//   void finish(SlotRef)                                end the lease (in_flight - 1); ref is dead after
//
// CONCURRENCY CONTRACT
// - publish() is called by one thread at a time (the refresher); the caller serialises writers.
//   snapshot(), stats(), finish() and everything on a Snapshot may be called from any thread.
// - Readers write nothing to read: no pin, no lock, no read-modify-write. snapshot() is two acquire
//   loads, every read through it is a relaxed atomic load, valid() is an acquire fence and one
//   load (on x86 all of these are plain loads). Readers are lock-free: snapshot() retries, and a
//   view goes stale, only when publish() rewrote the buffer under it, which takes two publishes.
// - The writer never waits for readers and never fails because of them: publish() returns
//   Errc::table_busy only when unfinished leases hold every slot it could give to a new identity
//   (nothing changed; the caller retries at its next refresh).
// - A Snapshot views one of two set buffers. publish() rewrites the buffer that is not current and
//   then makes it current, so a view stays whole through one publish and goes stale at the next
//   (its buffer is rewritten). A publish that fails with table_busy leaves the buffer it began to
//   rewrite unreadable (odd sequence) until the next publish: a reader that still holds the index
//   of that buffer retries instead of taking a set that was never published. Reads from a stale view return values of either set, never
//   undefined behaviour; a decision taken from a view (a pick) holds only if valid() is still true
//   after it, and start() checks that itself. Hold views briefly (pick, start, copy the endpoint).
// - Identity (address + port) maps to a stable slot holding EndpointStats. Republishing a set that
//   still contains an identity keeps its slot and statistics. A slot is given to a new identity only
//   when (a) neither buffer refers to it and (b) its in_flight count is zero, i.e. every lease
//   started on it has finished. So a finish() or a stats update can never land on an endpoint that
//   replaced the old one; SlotRef::generation lets stats() check this too.
// - A lease that is never finished keeps its slot retired forever (a leak of one slot, never a
//   misattribution). The table has 2 x Capacity slots so that a full set can be republished with
//   entirely new identities while the previous set is current.
//
// HOW (and every memory order)
// Each buffer is a sequence lock whose data are std::atomic words only (Boehm, "Can seqlocks get
// along with programming language memory models?", 2012): the writer stores seq odd, issues a
// fence, stores the data relaxed, stores seq even with release, then current_ with release. A busy
// publish stops after the odd store (no data written, seq stays odd, current_ unchanged); the next
// publish into that buffer starts from the odd value. current_ never names an odd buffer. A
// reader loads current_ and seq with acquire, the data relaxed, then valid() issues an acquire fence
// and reloads seq: if any data load saw a store of a later rewrite, the fence pairs with the
// writer's fence and the reload sees seq changed. No x86-only trick: every shared word is atomic,
// so it is correct on ARM (Graviton) and race-free under TSan.
// Leases use one Dekker pairing. start(): in_flight.fetch_add (seq_cst), then reload seq
// (seq_cst); on a change, undo and fail. publish(): store seq odd, seq_cst fence, then read the
// in_flight of any slot it wants to reuse. One of the two sees the other: either start() sees the
// buffer changed, or publish() sees in_flight > 0 and keeps the slot. The slot's reset never stores
// in_flight (a stale start() may be between its increment and its undo).
//
// MEMORY: everything lives inside the object (no allocation, ever): about
// 2 x Capacity x 32 bytes + 2 x Capacity x 128 bytes + 2 x sizeof(Index). With a Maglev index that
// is ~300 KiB, so create large tables with static storage or make_unique, not on the stack.
//
// Index: a type with `void rebuild(const Endpoint* eps, std::size_t n) noexcept`, default
// constructible, run by the writer inside publish(). Readers of a stale view may read it while it
// is rebuilt, so every member a reader reads must be a std::atomic (relaxed is enough: the buffer's
// sequence orders it). NoIndex does nothing.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>

#include "svcres/core/endpoint.hpp"
#include "svcres/core/result.hpp"
#include "svcres/table/endpoint_stats.hpp"

namespace svcres {
namespace detail {
template <class Table>
struct TableTestAccess;  // defined by tests only: reaches a buffer the way a preempted reader would
}  // namespace detail

// An entry's RFC 2782 priority and weight (what weighted policies read for every entry).
struct SrvRank {
  std::uint16_t priority;
  std::uint16_t weight;
};

// Names the slot a lease was started on, and which identity owned it then.
struct SlotRef {
  std::uint32_t slot = ~std::uint32_t{0};
  std::uint32_t generation = 0;
  bool valid() const noexcept { return slot != ~std::uint32_t{0}; }
};

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
  static constexpr std::size_t kBuffers = 2;
  static constexpr std::size_t kSlots = 2 * Capacity;
  static constexpr std::size_t capacity() noexcept { return Capacity; }
  using index_type = Index;

 private:
  // One published entry, as atomic words (see HOW): the address's 16 bytes, then family, port,
  // priority and weight packed in one word, then the slot.
  struct Entry {
    std::atomic<std::uint64_t> address[2] = {};
    std::atomic<std::uint64_t> meta{0};
    std::atomic<std::uint32_t> slot{0};

    void store(const Endpoint& e, std::uint32_t s) noexcept {
      std::uint64_t w[2];
      std::memcpy(w, e.address.bytes(), sizeof w);  // 16 bytes for both families (v4 zero-padded)
      // Relaxed: ordered by the buffer's sequence (see HOW).
      address[0].store(w[0], std::memory_order_relaxed);
      address[1].store(w[1], std::memory_order_relaxed);
      meta.store(static_cast<std::uint64_t>(e.address.family()) | std::uint64_t{e.port} << 8 |
                     std::uint64_t{e.priority} << 24 | std::uint64_t{e.weight} << 40,
                 std::memory_order_relaxed);
      slot.store(s, std::memory_order_relaxed);
    }
    Endpoint load() const noexcept {
      // Relaxed: validated by the caller through the buffer's sequence.
      const std::uint64_t w[2] = {address[0].load(std::memory_order_relaxed), address[1].load(std::memory_order_relaxed)};
      const std::uint64_t m = meta.load(std::memory_order_relaxed);
      std::uint8_t raw[16];
      std::memcpy(raw, w, 16);
      Endpoint e;
      e.address = (m & 0xFF) == static_cast<std::uint8_t>(IpAddress::Family::v6) ? IpAddress::from_v6_bytes(raw)
                                                                                  : IpAddress::from_v4_bytes(raw);
      e.port = static_cast<std::uint16_t>(m >> 8);
      e.priority = static_cast<std::uint16_t>(m >> 24);
      e.weight = static_cast<std::uint16_t>(m >> 40);
      return e;
    }
  };
  struct Buffer {
    std::atomic<std::uint64_t> seq{0};      // odd while publish() rewrites the buffer
    std::atomic<std::uint32_t> size{0};
    std::atomic<std::uint64_t> version{0};  // publish count that produced it; 0 = never published
    Entry entries[Capacity];
    Index index;
  };

 public:
  class Snapshot {
   public:
    static constexpr std::size_t capacity() noexcept { return Capacity; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    // Publish count of this set (1 for the first publish); two valid views with equal versions hold
    // the same set.
    std::uint64_t version() const noexcept { return b().version.load(std::memory_order_relaxed); }
    Endpoint endpoint(std::size_t i) const noexcept { return b().entries[i].load(); }
    // Entry i's RFC 2782 priority and weight alone (one word, not the whole endpoint).
    SrvRank rank(std::size_t i) const noexcept {
      // Relaxed: validated with the rest of the view.
      const std::uint64_t m = b().entries[i].meta.load(std::memory_order_relaxed);
      return SrvRank{static_cast<std::uint16_t>(m >> 24), static_cast<std::uint16_t>(m >> 40)};
    }
    // Live statistics of entry i's slot. Shared with every other reader; atomics only.
    EndpointStats& stats(std::size_t i) const noexcept { return table_->slots_[slot_of(i)]; }
    SlotRef ref(std::size_t i) const noexcept {
      const std::uint32_t s = slot_of(i);
      // Relaxed: for a valid view the generation was stored before the buffer's release (see HOW).
      return SlotRef{s, table_->slots_[s].generation.load(std::memory_order_relaxed)};
    }
    const Index& index() const noexcept { return b().index; }
    // Slots of this table currently under ejection (for a fast "nobody is ejected" path).
    std::atomic<std::int32_t>& ejected_counter() const noexcept { return table_->ejected_->value; }

    // True while every read made through this view saw the one set it was taken from.
    bool valid() const noexcept {
      // Acquire fence: the seqlock reader's fence, ordering every relaxed read before the reload.
      std::atomic_thread_fence(std::memory_order_acquire);
      return b().seq.load(std::memory_order_relaxed) == seq_;
    }

    // Starts a lease on entry i, or returns an invalid ref (nothing started) when the view went
    // stale: take a new snapshot and pick again. The ref stays valid until EndpointTable::finish(ref).
    SlotRef start(std::size_t i) const noexcept {
      const std::uint32_t s = slot_of(i);
      std::atomic<std::uint32_t>& in_flight = table_->slots_[s].in_flight;
      // Acquire fence: as in valid(), for the reads the caller's pick made before this call.
      std::atomic_thread_fence(std::memory_order_acquire);
      // seq_cst increment, then seq_cst reload of seq: the reader half of the Dekker pairing with
      // publish() (see HOW).
      in_flight.fetch_add(1, std::memory_order_seq_cst);
      if (b().seq.load(std::memory_order_seq_cst) != seq_) {
        // Relaxed: this increment published nothing; publish() either kept the slot or is about to
        // see the count drop back.
        in_flight.fetch_sub(1, std::memory_order_relaxed);
        return SlotRef{};
      }
      return SlotRef{s, table_->slots_[s].generation.load(std::memory_order_relaxed)};
    }

   private:
    friend class EndpointTable;
    Snapshot(const EndpointTable* t, const Buffer* buf, std::uint64_t seq, std::size_t size) noexcept
        : table_(t), buf_(buf), size_(size), seq_(seq) {}
    const Buffer& b() const noexcept { return *buf_; }
    // Always below kSlots, even from a stale view: an atomic word holds some value the writer
    // stored (or its initial 0), never a torn mix, and the writer stores only slot numbers.
    std::uint32_t slot_of(std::size_t i) const noexcept { return b().entries[i].slot.load(std::memory_order_relaxed); }
    const EndpointTable* table_;
    const Buffer* buf_;
    std::size_t size_;
    std::uint64_t seq_;
  };

  EndpointTable() noexcept = default;
  EndpointTable(const EndpointTable&) = delete;
  EndpointTable& operator=(const EndpointTable&) = delete;

  // Writer only (see contract). Errc::capacity_exceeded if n > Capacity; Errc::table_busy if every
  // spare slot has unfinished leases (nothing visible changed; retry).
  // Entries with the same identity share one slot (RFC 2782 lets a task appear under two priorities).
  Status publish(const Endpoint* eps, std::size_t n) noexcept {
    if (n > Capacity) return Errc::capacity_exceeded;
    if (n > 0 && eps == nullptr) return Errc::invalid_argument;
    const std::uint32_t target = current_.load(std::memory_order_relaxed) ^ 1u;  // the writer's own store
    Buffer& b = buffers_[target];
    // Even, or odd when the last publish into this buffer failed busy (only the writer changes it).
    const std::uint64_t odd = b.seq.load(std::memory_order_relaxed) | 1u;
    // Relaxed store + seq_cst fence: the fence is the seqlock writer's release fence (the odd value
    // is visible before any data store below) and the writer half of the Dekker pairing with
    // start() (it comes before every in_flight load in claim_slot()).
    b.seq.store(odd, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // The buffer's old set can no longer be read by a valid view: release its slots.
    const std::uint8_t bit = static_cast<std::uint8_t>(1u << target);
    for (std::size_t i = 0; i < written_[target]; ++i)
      owners_[b.entries[i].slot.load(std::memory_order_relaxed)].buffers &= static_cast<std::uint8_t>(~bit);
    written_[target] = 0;

    // Map identities to slots. Tentative assignments are undone if we run out of slots.
    std::uint32_t* assigned = scratch_assigned_;
    std::uint32_t* fresh = scratch_fresh_;
    std::size_t fresh_count = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t h = eps[i].identity_hash();  // computed once for both searches
      std::uint32_t s = find_slot(eps[i], h);
      if (s == kNoSlot) {
        s = claim_slot(eps[i], h);
        if (s == kNoSlot) {
          for (std::size_t k = 0; k < i; ++k) owners_[assigned[k]].buffers &= static_cast<std::uint8_t>(~bit);
          for (std::size_t k = 0; k < fresh_count; ++k) owners_[fresh[k]].owned = false;
          // Nothing of the new set was written and seq stays odd: no reader can take this buffer
          // for a set (see the contract). The current buffer was never touched.
          return Errc::table_busy;
        }
        fresh[fresh_count++] = s;
      }
      owners_[s].buffers |= bit;
      assigned[i] = s;
    }
    // Reset the freshly claimed slots. Only stale views can reach them, and those fail start().
    for (std::size_t k = 0; k < fresh_count; ++k)
      if (slots_[fresh[k]].reset(++owners_[fresh[k]].generation))
        ejected_->value.fetch_sub(1, std::memory_order_relaxed);
    // Relaxed data stores: ordered after the odd seq by the fence above, before the even seq by its
    // release.
    b.size.store(static_cast<std::uint32_t>(n), std::memory_order_relaxed);
    for (std::size_t i = 0; i < n; ++i) b.entries[i].store(eps[i], assigned[i]);
    written_[target] = n;
    b.version.store(++version_, std::memory_order_relaxed);
    b.index.rebuild(eps, n);
    // Release (both): pairs with the acquire loads in snapshot(); a reader that sees the new
    // current_ sees the whole buffer and the slot resets.
    b.seq.store(odd + 1, std::memory_order_release);
    current_.store(target, std::memory_order_release);
    return Status{};
  }

  Snapshot snapshot() const noexcept {
    for (;;) {
      // Acquire: pairs with publish()'s release store of current_.
      if (std::optional<Snapshot> v = view_of(current_.load(std::memory_order_acquire))) return *v;
    }
  }

  // The stats of a started lease's slot, or nullptr if the slot no longer belongs to that lease's
  // identity (impossible for a ref from start() that has not been finished: see the contract).
  EndpointStats* stats(SlotRef r) noexcept {
    if (!r.valid() || r.slot >= kSlots) return nullptr;
    EndpointStats& st = slots_[r.slot];
    return st.generation.load(std::memory_order_relaxed) == r.generation ? &st : nullptr;
  }

  // Ends a lease; call exactly once per successful start(), after the last stats update for it.
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
  template <class>
  friend struct detail::TableTestAccess;
  static constexpr std::uint32_t kNoSlot = ~std::uint32_t{0};

  // A reader's view of buffer i, or nothing while it is being rewritten: two publishes happened
  // since current_ named it, or a busy publish left it unreadable. The caller reloads current_.
  std::optional<Snapshot> view_of(std::uint32_t i) const noexcept {
    const Buffer& b = buffers_[i];
    // Acquire: pairs with publish()'s release store of the even seq.
    const std::uint64_t seq = b.seq.load(std::memory_order_acquire);
    if (seq & 1) return std::nullopt;
    // Relaxed: validated with the rest of the view.
    const std::size_t n = b.size.load(std::memory_order_relaxed);
    return Snapshot(this, &b, seq, n < Capacity ? n : Capacity);
  }

  // Writer-private bookkeeping for one slot; readers never touch it.
  struct Owner {
    IpAddress address;
    std::uint16_t port = 0;
    bool owned = false;
    std::uint8_t buffers = 0;  // bit k: buffer k's set refers to this slot
    std::uint32_t generation = 0;
    std::uint64_t hash = 0;
  };

  std::uint32_t find_slot(const Endpoint& e, std::uint64_t h) const noexcept {
    for (std::uint32_t s = 0; s < kSlots; ++s) {
      const Owner& o = owners_[s];
      if (o.owned && o.hash == h && o.port == e.port && o.address == e.address) return s;
    }
    return kNoSlot;
  }

  // A slot for a new identity: never owned, or owned by an identity that neither buffer refers to
  // and that has no unfinished lease. `h` is e.identity_hash().
  std::uint32_t claim_slot(const Endpoint& e, std::uint64_t h) noexcept {
    for (std::uint32_t s = 0; s < kSlots; ++s) {
      Owner& o = owners_[s];
      if (o.owned) {
        if (o.buffers != 0) continue;
        // Acquire: pairs with finish()'s release, so the last lease's stats updates are done
        // before reset() overwrites them. After publish()'s fence: the Dekker load (see HOW).
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
  mutable EndpointStats slots_[kSlots];
  mutable Counter ejected_[1];
  Buffer buffers_[kBuffers];
  // Writer-private.
  Owner owners_[kSlots];
  std::size_t written_[kBuffers] = {};             // entries each buffer's slots are counted for
  std::uint32_t scratch_assigned_[Capacity] = {};  // publish() scratch, kept off the stack
  std::uint32_t scratch_fresh_[Capacity] = {};
  std::uint64_t version_ = 0;
};

}  // namespace svcres
