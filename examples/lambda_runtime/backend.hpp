#pragma once
// What the handler needs from "the backend": call(event, deadline) -> CallResult, a warm-up
// resolution for init, and the svcres::Service metrics the EMF line is made of. One wiring
// implements it (backend_service.hpp, through svcres::Service); the virtual base lets the bootstrap
// choose the balancing policy, a template parameter of Service, from configuration at start-up.
// Lives across invocations (the bootstrap owns one): resolver cache, endpoint statistics, ejections,
// balancer position, metrics and kept-alive connections all persist between invocations.

#include <chrono>
#include <string>
#include <vector>

#include "lambda_runtime/config.hpp"
#include "svcres/core/errc.hpp"
#include "svcres/metrics/service_metrics.hpp"

namespace svcres_examples {
namespace lambda {

using svcres::Errc;
using Clock = std::chrono::steady_clock;

struct TryRecord {
  std::string task;     // "a.b.c.d:port", empty when no task could be picked
  int status = 0;       // HTTP status, 0 when none arrived
  Errc error = Errc::ok;
  std::string message;  // why the try failed
  double ms = 0;
};

struct CallResult {
  bool ok = false;  // an answer (2xx) came back
  int status = 0;
  std::string body;
  std::string error_type;  // when !ok: Backend.Unavailable, Backend.DeadlineExceeded, ...
  std::string error_message;
  std::vector<TryRecord> tries;
  std::string task;  // who answered
};

class BackendBase {
 public:
  virtual ~BackendBase() = default;
  virtual CallResult call(const std::string& body, Clock::time_point deadline) = 0;
  // Resolves once (start-up check); false with `error` when that fails or finds no endpoint.
  virtual bool warm_up(std::string& error) = 0;
  virtual svcres::metrics::MetricsSnapshot metrics_snapshot() const noexcept = 0;
};

}  // namespace lambda
}  // namespace svcres_examples
