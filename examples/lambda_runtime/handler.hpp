#pragma once
// The function's handler: one event in, the backend's answer (or a structured error) out, and one
// CloudWatch Embedded Metric Format line per invocation on stdout.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "lambda_runtime/backend.hpp"
#include "lambda_runtime/runtime_api.hpp"
#include "svcres/core/clock.hpp"
#include "svcres/metrics/emf.hpp"

namespace svcres_examples {
namespace lambda {

struct HandlerOutput {
  bool ok = false;
  std::string body;  // the response when ok
  std::string error_type, error_message;
  CallResult call;
  double latency_ms = 0;
  svcres::metrics::MetricsSnapshot figures;  // the Service's counters for this invocation alone
};

inline std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Lambda's deadline (Lambda-Runtime-Deadline-Ms) is wall-clock Unix ms; all waiting uses the steady
// clock (a wall-clock step must not stretch or cut a timeout), so it is converted once, by the
// library, less the margin kept for posting the result. It bounds the whole call: the DNS refresh a
// pick may start, every try and every back-off.
inline Clock::time_point call_deadline(std::int64_t deadline_unix_ms, std::chrono::milliseconds margin) {
  return svcres::steady_deadline_from_epoch_ms(static_cast<long long>(deadline_unix_ms) - margin.count());
}

inline HandlerOutput handle(const Invocation& inv, BackendBase& backend, const Config& cfg) {
  HandlerOutput out;
  // An execution environment runs one invocation at a time, so nothing else moves the counters
  // between the two snapshots: their difference is this invocation's figures.
  const svcres::metrics::MetricsSnapshot before = backend.metrics_snapshot();
  auto t0 = Clock::now();
  out.call = backend.call(inv.event, call_deadline(inv.deadline_ms, cfg.deadline_margin));
  out.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  out.figures = backend.metrics_snapshot().since(before);
  out.ok = out.call.ok;
  if (out.ok) {
    out.body = std::move(out.call.body);
  } else {
    out.error_type = out.call.error_type;
    out.error_message = out.call.error_message;
  }
  return out;
}

// An invocation answered with an error without calling the backend (the Runtime API's reply for it
// was unusable): no tries, zero counters, the endpoint gauge as it stands.
inline HandlerOutput refused(const BackendBase& backend, std::string error_type) {
  HandlerOutput out;
  out.error_type = std::move(error_type);
  const svcres::metrics::MetricsSnapshot now = backend.metrics_snapshot();
  out.figures = now.since(now);
  return out;
}

// One EMF document through svcres's exporter: the Service's figures for this invocation under
// DiscoveryName (the function) and TargetDiscoveryName (the backend service), plus the
// invocation's own latency and error count. Tries are RequestCount (every try is one pick).
// requestId, task, triedTasks, outcome and errorType are properties: searchable in Logs Insights,
// not metrics. Ends with '\n'.
inline std::string emf_line(const Config& cfg, const std::string& request_id, const HandlerOutput& h) {
  std::string tried;  // "a.b.c.d:port,..." in try order
  for (const TryRecord& t : h.call.tries) tried += (tried.empty() ? "" : ",") + t.task;
  const svcres::metrics::EmfExtraMetric extra[] = {
      {"InvocationLatency", "Milliseconds", h.latency_ms},
      {"InvocationErrors", "Count", h.ok ? 0.0 : 1.0},
  };
  const svcres::metrics::EmfProperty props[] = {
      {"requestId", request_id},      {"task", h.call.task},          {"triedTasks", tried},
      {"outcome", h.ok ? "ok" : "error"}, {"errorType", h.error_type},
  };
  svcres::metrics::EmfOptions opt;
  opt.name_space = "svcres/lambda";
  opt.discovery_name = cfg.function_name;
  opt.target_discovery_name = cfg.backend;
  opt.extra_metrics = extra;
  opt.extra_metric_count = sizeof extra / sizeof extra[0];
  opt.properties = props;
  opt.property_count = sizeof props / sizeof props[0];
  std::string line;
  line.reserve(1200);
  svcres::metrics::append_emf(line, opt, h.figures, unix_ms_now());
  return line;
}

// `line` ends with its newline (one EMF document per line); stdout is line-buffered by nobody in
// Lambda, so flush.
inline void emit_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace lambda
}  // namespace svcres_examples
