#pragma once
// RetryPolicy: what Service::call() retries, and within which time limits. The defaults mirror ECS
// Service Connect's Envoy configuration: two retries on connection failure or HTTP 503, 15 s per
// request, 25 ms / 250 ms jittered back-off, a retry budget of 20 % (at least 3) of active requests.
//
// Time limits: `timeout` bounds the whole call (every try and every back-off); `per_try_timeout`
// bounds one try. call() also takes an absolute deadline (a Lambda passes its own remaining time);
// the earliest of the three wins. A back-off that would end past the overall deadline is not taken.

#include <chrono>
#include <cstdint>

#include "svcres/core/clock.hpp"
#include "svcres/service/backoff.hpp"
#include "svcres/service/outcome.hpp"

namespace svcres {

struct RetryPolicy {
  unsigned max_retries = 2;
  bool on_connect_failure = true;  // Envoy connect-failure
  bool on_timeout = false;         // a per-try timeout; off by default (the request may have run)
  bool on_failure = false;         // a reset or malformed reply; off by default for the same reason
  std::uint16_t retriable_status[4] = {503, 0, 0, 0};  // 0 = unused
  Duration timeout = std::chrono::seconds(15);
  Duration per_try_timeout = std::chrono::seconds(15);
  BackoffConfig backoff{};

  bool retriable(const TryOutcome& o) const noexcept {
    switch (o.kind) {
      case TryKind::connect_failure: return on_connect_failure;
      case TryKind::timeout: return on_timeout;
      case TryKind::failure: return on_failure;
      case TryKind::ok:
        if (o.http_status == 0) return false;
        for (std::uint16_t s : retriable_status)
          if (s != 0 && s == o.http_status) return true;
        return false;
    }
    return false;
  }
};

}  // namespace svcres
