#pragma once
// What the handler needs from "the backend": call(event, deadline) -> CallResult, and a warm-up
// resolution for init. Two wirings implement it:
// - backend_service.hpp: svcres::Service (pick, lease, call with retries, budget, metrics). Used
//   whenever <svcres/service.hpp> is present.
// - backend_direct.hpp: the same rules written directly against Resolver + EndpointTable + policy +
//   OutlierDetector, kept for trees without the Service layer (it was written first, before that
//   layer existed).
// Lives across invocations (the bootstrap owns one): resolver cache, endpoint statistics, ejections,
// balancer position and kept-alive connections all persist between invocations.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "lambda_runtime/config.hpp"
#include "svcres/core/errc.hpp"
#include "svcres/resolve/resolv_conf.hpp"

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

struct DnsFigures {
  Errc error = Errc::ok;
  std::uint32_t packets = 0;  // queries sent during this invocation (0: answered from cache)
  bool from_cache = false;
  bool stale = false;
  std::uint32_t ttl = 0;
  std::size_t endpoints = 0;
  double ms = 0;
};

struct CallResult {
  bool ok = false;  // an answer (2xx) came back
  int status = 0;
  std::string body;
  std::string error_type;  // when !ok: Backend.Unavailable, Backend.DeadlineExceeded, ...
  std::string error_message;
  std::vector<TryRecord> tries;
  unsigned retries() const noexcept { return tries.empty() ? 0u : static_cast<unsigned>(tries.size() - 1); }
  bool budget_exhausted = false;
  DnsFigures dns;
  std::string task;  // who answered
};

class BackendBase {
 public:
  virtual ~BackendBase() = default;
  virtual CallResult call(const std::string& body, Clock::time_point deadline) = 0;
  // Resolves once (start-up check and init log); fills `dns`, false with `error` on failure.
  virtual bool warm_up(DnsFigures& dns, std::string& error) = 0;
  virtual const char* wiring() const noexcept = 0;
};

}  // namespace lambda
}  // namespace svcres_examples
