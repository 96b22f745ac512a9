#pragma once
// The function's handler: one event in, the backend's answer (or a structured error) out, and one
// CloudWatch Embedded Metric Format line per invocation on stdout.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "common/json.hpp"
#include "lambda_runtime/backend.hpp"
#include "lambda_runtime/runtime_api.hpp"

namespace svcres_examples {
namespace lambda {

struct HandlerOutput {
  bool ok = false;
  std::string body;  // the response when ok
  std::string error_type, error_message;
  CallResult call;
  double latency_ms = 0;
};

inline std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Lambda's deadline is wall-clock Unix ms; all waiting uses the steady clock (a wall-clock step must
// not stretch or cut a timeout), so the remaining time is converted once, here, minus the margin
// kept for posting the result.
inline Clock::time_point steady_deadline(std::int64_t deadline_unix_ms, std::chrono::milliseconds margin) {
  std::int64_t left_ms = deadline_unix_ms - unix_ms_now() - margin.count();
  return Clock::now() + std::chrono::milliseconds(left_ms > 0 ? left_ms : 0);
}

inline HandlerOutput handle(const Invocation& inv, BackendBase& backend, const Config& cfg) {
  HandlerOutput out;
  auto t0 = Clock::now();
  out.call = backend.call(inv.event, steady_deadline(inv.deadline_ms, cfg.deadline_margin));
  out.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  out.ok = out.call.ok;
  if (out.ok) {
    out.body = std::move(out.call.body);
  } else {
    out.error_type = out.call.error_type;
    out.error_message = out.call.error_message;
  }
  return out;
}

// One EMF document (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
// CloudWatch_Embedded_Metric_Format_Specification.html): metric values at the top level, declared
// under _aws.CloudWatchMetrics, with Service as the only dimension. requestId, task, outcome and
// errorType are properties: searchable in Logs Insights, not metrics.
inline std::string emf_line(const std::string& service, const std::string& request_id, const HandlerOutput& h,
                            const std::string& error_type) {
  const CallResult& c = h.call;
  std::string s;
  s.reserve(900);
  s += "{\"_aws\":{\"Timestamp\":" + std::to_string(unix_ms_now()) +
       ",\"CloudWatchMetrics\":[{\"Namespace\":\"svcres/lambda\",\"Dimensions\":[[\"Service\"]],\"Metrics\":["
       "{\"Name\":\"Requests\",\"Unit\":\"Count\"},{\"Name\":\"Errors\",\"Unit\":\"Count\"},"
       "{\"Name\":\"Latency\",\"Unit\":\"Milliseconds\"},{\"Name\":\"Tries\",\"Unit\":\"Count\"},"
       "{\"Name\":\"Retries\",\"Unit\":\"Count\"},{\"Name\":\"DnsQueries\",\"Unit\":\"Count\"},"
       "{\"Name\":\"DnsCacheHits\",\"Unit\":\"Count\"},{\"Name\":\"DnsLatency\",\"Unit\":\"Milliseconds\"},"
       "{\"Name\":\"DnsStale\",\"Unit\":\"Count\"},{\"Name\":\"Endpoints\",\"Unit\":\"Count\"}]}]}";
  s += ",\"Service\":" + json::quote(service);
  s += ",\"Requests\":1,\"Errors\":" + std::string(h.ok ? "0" : "1");
  s += ",\"Latency\":" + json::number(h.latency_ms);
  s += ",\"Tries\":" + std::to_string(c.tries.size());
  s += ",\"Retries\":" + std::to_string(c.retries());
  s += ",\"DnsQueries\":" + std::to_string(c.dns.packets);
  s += ",\"DnsCacheHits\":" + std::string(c.dns.from_cache ? "1" : "0");
  s += ",\"DnsLatency\":" + json::number(c.dns.ms);
  s += ",\"DnsStale\":" + std::string(c.dns.stale ? "1" : "0");
  s += ",\"Endpoints\":" + std::to_string(c.dns.endpoints);
  s += ",\"requestId\":" + json::quote(request_id);
  s += ",\"task\":" + json::quote(c.task);
  s += ",\"outcome\":" + json::quote(h.ok ? "ok" : "error");
  s += ",\"errorType\":" + json::quote(error_type);
  s += ",\"triedTasks\":[";
  for (std::size_t i = 0; i < c.tries.size(); ++i) s += (i ? "," : "") + json::quote(c.tries[i].task);
  s += "]}";
  return s;
}

// EMF must be one line per document; stdout is line-buffered by nobody in Lambda, so flush.
inline void emit_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace lambda
}  // namespace svcres_examples
