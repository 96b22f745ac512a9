#pragma once
// Lease<Owner>: one picked endpoint and the bookkeeping that goes with it (in-flight count, start
// time, whether it is a retry). Move-only. Complete it exactly once with how the try went:
//
//   auto lease = service.pick();          // Result<Lease>
//   ... use lease->endpoint() ...
//   lease->complete(svcres::TryOutcome::http(200));          // latency measured by the service clock
//   lease->complete(svcres::TryOutcome::timeout(), 1s);       // or given by the caller
//
// A lease destroyed (or overwritten by a move) without complete() is completed as a failure, with
// the time it was held as latency: a forgotten lease must not leak an in-flight count, and an
// exception path that drops it is a failed request.
//
// Owner is the service that issued the lease; it provides
//   TimePoint lease_now() const noexcept
//   void finish_lease(const Endpoint&, SlotRef, bool retry, TryOutcome, Duration latency,
//                     TimePoint now) noexcept          (now: lease_now() read once at completion)
// Threads: a lease belongs to one thread at a time; different leases complete concurrently.
// Lifetime: the service must outlive its leases (a lease holds a pointer to it).

#include <utility>

#include "svcres/core/clock.hpp"
#include "svcres/core/endpoint.hpp"
#include "svcres/service/outcome.hpp"
#include "svcres/table/endpoint_table.hpp"

namespace svcres {

template <class Owner>
class Lease {
 public:
  Lease() noexcept = default;
  Lease(Owner* owner, const Endpoint& ep, SlotRef ref, TimePoint started, bool retry) noexcept
      : owner_(owner), endpoint_(ep), ref_(ref), started_(started), retry_(retry) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Lease(Lease&& o) noexcept : owner_(o.owner_), endpoint_(o.endpoint_), ref_(o.ref_), started_(o.started_), retry_(o.retry_) {
    o.owner_ = nullptr;
  }
  Lease& operator=(Lease&& o) noexcept {
    if (this != &o) {
      abandon();
      owner_ = o.owner_;
      endpoint_ = o.endpoint_;
      ref_ = o.ref_;
      started_ = o.started_;
      retry_ = o.retry_;
      o.owner_ = nullptr;
    }
    return *this;
  }
  ~Lease() { abandon(); }

  // False once completed, moved from, or default-constructed.
  bool active() const noexcept { return owner_ != nullptr; }
  const Endpoint& endpoint() const noexcept { return endpoint_; }
  TimePoint started() const noexcept { return started_; }
  bool is_retry() const noexcept { return retry_; }

  void complete(TryOutcome outcome) noexcept {
    if (!owner_) return;
    const TimePoint now = owner_->lease_now();  // one clock read for the latency and the owner
    finish(outcome, now - started_, now);
  }
  void complete(TryOutcome outcome, Duration latency) noexcept {
    if (owner_) finish(outcome, latency, owner_->lease_now());
  }

 private:
  void finish(TryOutcome outcome, Duration latency, TimePoint now) noexcept {
    Owner* o = owner_;
    owner_ = nullptr;
    o->finish_lease(endpoint_, ref_, retry_, outcome, latency, now);
  }
  void abandon() noexcept { complete(TryOutcome::failure()); }

  Owner* owner_ = nullptr;
  Endpoint endpoint_{};
  SlotRef ref_{};
  TimePoint started_{};
  bool retry_ = false;
};

}  // namespace svcres
