#pragma once
// EndpointStats: the per-endpoint state that outlives a published set. One lives in each stable slot
// of an EndpointTable; it is reset by the table's writer when the slot is given to a new identity.
//
// Every field is a std::atomic word; nothing else is shared between threads, so the type is correct
// on weakly ordered CPUs (ARM/Graviton) without fences of its own. The fields are independent
// counters: a reader may see in_flight from one instant and ewma_ns from another, and every policy is
// written to tolerate that. Only EndpointTable gives ordering guarantees (see its header).
//
// Layout: "hot" fields written on every lease (in_flight, EWMA, failures) share one cache line; the
// "cold" fields read on every filtered pick (ejection deadline, generation) sit on another, so pick
// paths that only check ejection do not bounce the line that completions keep writing.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "svcres/core/clock.hpp"

namespace svcres {

// 64 bytes on x86-64 and on the Neoverse cores of Graviton 2/3/4. Not
// std::hardware_destructive_interference_size: g++ warns that its value may differ between builds.
inline constexpr std::size_t kCacheLine = 64;

// Nanoseconds since the clock's epoch; the unit of every timestamp field below. 0 means "never".
inline std::int64_t to_ns(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

struct alignas(kCacheLine) EndpointStats {
  // Hot line: written by every completion.
  std::atomic<std::uint32_t> in_flight{0};             // leases started and not finished
  std::atomic<std::uint32_t> consecutive_failures{0};  // reset by a success
  std::atomic<std::uint64_t> ewma_ns{0};               // peak EWMA of latency; 0 = no sample yet
  std::atomic<std::int64_t> ewma_updated_ns{0};        // to_ns() of the last EWMA update

  // Cold line: written by ejections and by the writer only.
  alignas(kCacheLine) std::atomic<std::int64_t> ejected_until_ns{0};  // 0 = not ejected
  std::atomic<std::uint32_t> times_ejected{0};
  std::atomic<std::uint32_t> generation{0};  // bumped each time the slot is given to a new identity

  // Called by the table's writer only, when the slot is given to a new identity. Returns true when
  // the slot was under ejection (the table keeps a count of those). in_flight is left alone: it is
  // zero, apart from a stale start() between its increment and its undo (see EndpointTable), and
  // storing zero under that would make the undo wrap around.
  bool reset(std::uint32_t new_generation) noexcept {
    consecutive_failures.store(0, std::memory_order_relaxed);
    ewma_ns.store(0, std::memory_order_relaxed);
    ewma_updated_ns.store(0, std::memory_order_relaxed);
    times_ejected.store(0, std::memory_order_relaxed);
    generation.store(new_generation, std::memory_order_relaxed);
    // Exchange, not store: a reader of a stale view may be lifting an expired ejection (a CAS to 0)
    // at this moment; exactly one of the two sees the old deadline and drops the table's count.
    return ejected_until_ns.exchange(0, std::memory_order_relaxed) != 0;
  }
};

static_assert(std::atomic<std::uint32_t>::is_always_lock_free && std::atomic<std::uint64_t>::is_always_lock_free &&
                  std::atomic<std::int64_t>::is_always_lock_free,
              "svcres needs lock-free 32- and 64-bit atomics (x86-64 and AArch64 have them); a lock-based "
              "std::atomic could block a reader behind a preempted writer.");
static_assert(sizeof(EndpointStats) == 2 * kCacheLine && alignof(EndpointStats) == kCacheLine,
              "EndpointStats must be two whole cache lines so neighbouring slots never share a line.");

}  // namespace svcres
