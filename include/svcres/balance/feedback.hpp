#pragma once
// complete(): the one call that ends a lease started with Snapshot::start(). It records the latency
// into the peak EWMA, lets the outlier detector count the outcome, then finishes the lease, in that
// order (finish() must come last: it is what allows the table to reuse the slot).
//
//   svcres::complete(table, ref, {ok, latency}, clock.now(), &detector);
//
// For a failure pass the time the attempt cost the caller: a request abandoned at a 1 s timeout
// passes 1 s, so the EWMA and the ejection logic both see it (the EWMA sample is raised to
// EwmaConfig::failure_penalty, 5 s by default). Pass the same EwmaConfig the PeakEwma policy uses. Call exactly once per lease.

#include "svcres/balance/ewma.hpp"
#include "svcres/balance/outlier.hpp"
#include "svcres/core/clock.hpp"
#include "svcres/table/endpoint_table.hpp"

namespace svcres {

struct Outcome {
  bool success = true;
  Duration latency{};
};

// Returns true when this outcome ejected the endpoint (for an ejection counter).
template <class Table>
bool complete(Table& table, SlotRef ref, Outcome outcome, TimePoint now, const OutlierDetector* detector = nullptr,
              const EwmaConfig& ewma = {}) noexcept {
  bool ejected = false;
  if (EndpointStats* st = table.stats(ref)) {
    const Duration sample =
        !outcome.success && ewma.failure_penalty > outcome.latency ? ewma.failure_penalty : outcome.latency;
    record_latency(*st, sample, now, ewma);
    if (detector) ejected = detector->on_outcome(table, ref, *st, outcome.success, now);
  }
  table.finish(ref);
  return ejected;
}

}  // namespace svcres
