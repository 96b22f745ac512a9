#pragma once
// CloudWatch Embedded Metric Format: one JSON object on one line, which a Lambda prints to stdout and
// CloudWatch Logs turns into metrics. Layout (EMF specification):
//   {"_aws":{"Timestamp":<ms>,"CloudWatchMetrics":[{"Namespace":..,"Dimensions":[[..]],"Metrics":[..]}]},
//    "<dimension>":"<value>", ..., "<metric>":<number>, ...}
// At most 100 metrics per directive (an EMF limit); this exporter writes 16 plus the caller's extras
// (append_emf refuses more than the limit by dropping extras past it). Names follow ECS Service
// Connect where one fits (RequestCount, HTTPCode_Target_5XX_Count, TargetResponseTime) with its
// dimensions DiscoveryName (the caller) and TargetDiscoveryName (the service called).

#include <cstdint>
#include <string>
#include <string_view>

#include "svcres/metrics/service_metrics.hpp"
#include "svcres/metrics/text_format.hpp"

namespace svcres::metrics {

// A caller's own metric next to the service's (e.g. a Lambda's per-invocation latency). Values are
// printed with up to 6 decimals; negative values are clamped to 0 (EMF metrics here are counts and
// durations).
struct EmfExtraMetric {
  std::string_view name;
  std::string_view unit;  // a CloudWatch unit: "Count", "Milliseconds", ...
  double value = 0;
};
// A string property: searchable in CloudWatch Logs Insights, not a metric (e.g. a request id).
struct EmfProperty {
  std::string_view name;
  std::string_view value;
};

struct EmfOptions {
  std::string_view name_space = "svcres";  // CloudWatch namespace
  std::string_view discovery_name;         // the caller, e.g. the Lambda function name
  std::string_view target_discovery_name;  // the service called, e.g. "user-service.local"
  const EmfExtraMetric* extra_metrics = nullptr;
  std::size_t extra_metric_count = 0;
  const EmfProperty* properties = nullptr;
  std::size_t property_count = 0;
};

inline constexpr int emf_max_metrics = 100;

namespace detail {
struct EmfMetric {
  const char* name;
  const char* unit;
};
inline constexpr EmfMetric emf_metrics[] = {
    {"RequestCount", "Count"},
    {"SuccessCount", "Count"},
    {"HTTPCode_Target_4XX_Count", "Count"},
    {"HTTPCode_Target_5XX_Count", "Count"},
    {"ConnectionErrorCount", "Count"},
    {"TimeoutCount", "Count"},
    {"RetryCount", "Count"},
    {"RetryBudgetExhaustedCount", "Count"},
    {"EjectionCount", "Count"},
    {"TargetResponseTime", "Milliseconds"},
    {"TargetResponseTimeP99", "Milliseconds"},
    {"DnsResolutionCount", "Count"},
    {"DnsFailureCount", "Count"},
    {"DnsStaleAnswerCount", "Count"},
    {"DnsPacketsSent", "Count"},
    {"EndpointsKnown", "Count"},
};
static_assert(sizeof(emf_metrics) / sizeof(emf_metrics[0]) <= emf_max_metrics,
              "EMF allows at most 100 metrics in one directive.");

inline void json_key(std::string& out, std::string_view key) {
  out.push_back('"');
  append_json_escaped(out, key);
  out += "\":";
}
}  // namespace detail

// Appends one EMF line (with its '\n') for the figures in `s` (usually an interval: now.since(before)).
inline void append_emf(std::string& out, const EmfOptions& opt, const MetricsSnapshot& s, std::int64_t timestamp_ms) {
  using namespace detail;
  constexpr std::size_t builtin = sizeof(emf_metrics) / sizeof(emf_metrics[0]);
  const std::size_t extra_count =
      opt.extra_metric_count < emf_max_metrics - builtin ? opt.extra_metric_count : emf_max_metrics - builtin;
  out += "{\"_aws\":{\"Timestamp\":";
  append_int(out, timestamp_ms);
  out += ",\"CloudWatchMetrics\":[{\"Namespace\":\"";
  append_json_escaped(out, opt.name_space);
  out += "\",\"Dimensions\":[[\"TargetDiscoveryName\"]";
  if (!opt.discovery_name.empty()) out += ",[\"DiscoveryName\",\"TargetDiscoveryName\"]";
  out += "],\"Metrics\":[";
  bool first = true;
  for (const auto& m : emf_metrics) {
    if (!first) out.push_back(',');
    first = false;
    out += "{\"Name\":\"";
    out += m.name;
    out += "\",\"Unit\":\"";
    out += m.unit;
    out += "\"}";
  }
  for (std::size_t i = 0; i < extra_count; ++i) {
    out += ",{\"Name\":\"";
    append_json_escaped(out, opt.extra_metrics[i].name);
    out += "\",\"Unit\":\"";
    append_json_escaped(out, opt.extra_metrics[i].unit);
    out += "\"}";
  }
  out += "]}]},";
  if (!opt.discovery_name.empty()) {
    json_key(out, "DiscoveryName");
    out.push_back('"');
    append_json_escaped(out, opt.discovery_name);
    out += "\",";
  }
  json_key(out, "TargetDiscoveryName");
  out.push_back('"');
  append_json_escaped(out, opt.target_discovery_name);
  out.push_back('"');

  auto number = [&out](const char* name, std::uint64_t v) {
    out.push_back(',');
    json_key(out, name);
    append_uint(out, v);
  };
  auto millis = [&out](const char* name, std::uint64_t us) {
    out.push_back(',');
    json_key(out, name);
    append_micro_fixed(out, us * 1000);  // µs -> ms with three decimals
  };
  number("RequestCount", s.requests);
  number("SuccessCount", s.successes);
  number("HTTPCode_Target_4XX_Count", s.failures_of(FailureKind::http_4xx));
  number("HTTPCode_Target_5XX_Count", s.failures_of(FailureKind::http_5xx));
  number("ConnectionErrorCount", s.failures_of(FailureKind::connect));
  number("TimeoutCount", s.failures_of(FailureKind::timeout));
  number("RetryCount", s.retries);
  number("RetryBudgetExhaustedCount", s.retries_refused);
  number("EjectionCount", s.ejections);
  millis("TargetResponseTime", s.latency_count ? s.latency_sum_us / s.latency_count : 0);
  millis("TargetResponseTimeP99", s.latency_quantile_us(0.99));
  number("DnsResolutionCount", s.dns_resolutions);
  number("DnsFailureCount", s.dns_failures);
  number("DnsStaleAnswerCount", s.dns_stale_served);
  number("DnsPacketsSent", s.dns_packets_sent);
  number("EndpointsKnown", s.endpoints_known < 0 ? 0 : static_cast<std::uint64_t>(s.endpoints_known));
  for (std::size_t i = 0; i < extra_count; ++i) {
    out.push_back(',');
    json_key(out, opt.extra_metrics[i].name);
    double v = opt.extra_metrics[i].value;
    append_micro_fixed(out, v > 0 ? static_cast<std::uint64_t>(v * 1e6 + 0.5) : 0);
  }
  for (std::size_t i = 0; i < opt.property_count; ++i) {
    out.push_back(',');
    json_key(out, opt.properties[i].name);
    out.push_back('"');
    append_json_escaped(out, opt.properties[i].value);
    out.push_back('"');
  }
  out += "}\n";
}

}  // namespace svcres::metrics
