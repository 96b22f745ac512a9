#pragma once
// Prometheus text exposition (format 0.0.4) for one service's metrics. Appends to a std::string:
// exporting runs off the hot path, once per scrape.
//
// Names follow Prometheus conventions (svcres_ prefix, _total for counters, base unit seconds); every
// series carries service="<name>".

#include <string>
#include <string_view>

#include "svcres/metrics/service_metrics.hpp"
#include "svcres/metrics/text_format.hpp"

namespace svcres::metrics {

namespace detail {
inline void prom_series(std::string& out, std::string_view name, std::string_view service,
                        std::string_view extra_label = {}, std::string_view extra_value = {}) {
  out.append(name);
  out += "{service=\"";
  append_label_escaped(out, service);
  out.push_back('"');
  if (!extra_label.empty()) {
    out.push_back(',');
    out.append(extra_label);
    out += "=\"";
    append_label_escaped(out, extra_value);
    out.push_back('"');
  }
  out += "} ";
}
inline void prom_header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out.append(name);
  out.push_back(' ');
  out.append(help);
  out += "\n# TYPE ";
  out.append(name);
  out.push_back(' ');
  out.append(type);
  out.push_back('\n');
}
inline void prom_counter(std::string& out, std::string_view name, std::string_view help, std::string_view service,
                         std::uint64_t v) {
  prom_header(out, name, "counter", help);
  prom_series(out, name, service);
  append_uint(out, v);
  out.push_back('\n');
}
}  // namespace detail

inline void append_prometheus(std::string& out, std::string_view service, const MetricsSnapshot& s) {
  using namespace detail;
  prom_counter(out, "svcres_requests_total", "Tries handed out by pick(), retries included.", service, s.requests);
  prom_counter(out, "svcres_successes_total", "Tries completed as successful.", service, s.successes);
  prom_header(out, "svcres_failures_total", "counter", "Tries completed as failed, by kind.");
  for (int k = 0; k < failure_kind_count; ++k) {
    prom_series(out, "svcres_failures_total", service, "kind", to_string(static_cast<FailureKind>(k)));
    append_uint(out, s.failures[k]);
    out.push_back('\n');
  }
  prom_counter(out, "svcres_retries_total", "Tries after the first try of a call.", service, s.retries);
  prom_counter(out, "svcres_retries_refused_total", "Retries refused by the retry budget.", service, s.retries_refused);
  prom_counter(out, "svcres_ejections_total", "Endpoints ejected by outlier detection.", service, s.ejections);
  prom_counter(out, "svcres_dns_resolutions_total", "DNS resolutions of the service name.", service, s.dns_resolutions);
  prom_counter(out, "svcres_dns_failures_total", "DNS resolutions that failed.", service, s.dns_failures);
  prom_counter(out, "svcres_dns_stale_served_total", "Stale DNS answers served (RFC 8767).", service, s.dns_stale_served);
  prom_counter(out, "svcres_dns_packets_sent_total", "DNS packets sent.", service, s.dns_packets_sent);
  prom_header(out, "svcres_endpoints", "gauge", "Endpoints currently known.");
  prom_series(out, "svcres_endpoints", service);
  append_int(out, s.endpoints_known);
  out.push_back('\n');

  // Cumulative buckets at every power of two microseconds (the histogram's coarse edges).
  prom_header(out, "svcres_request_duration_seconds", "histogram", "Latency of completed tries.");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < LatencyHistogram::bucket_count; ++b) {
    cumulative += s.latency_buckets[b];
    bool edge = b == 0 || (b - 1) % LatencyHistogram::sub_buckets == LatencyHistogram::sub_buckets - 1;
    if (!edge || b + 1 == LatencyHistogram::bucket_count) continue;
    std::string le;
    append_micro_fixed(le, LatencyHistogram::upper_bound_us(b));
    prom_series(out, "svcres_request_duration_seconds_bucket", service, "le", le);
    append_uint(out, cumulative);
    out.push_back('\n');
  }
  prom_series(out, "svcres_request_duration_seconds_bucket", service, "le", "+Inf");
  append_uint(out, s.latency_count);
  out.push_back('\n');
  prom_series(out, "svcres_request_duration_seconds_sum", service);
  append_micro_fixed(out, s.latency_sum_us);
  out.push_back('\n');
  prom_series(out, "svcres_request_duration_seconds_count", service);
  append_uint(out, s.latency_count);
  out.push_back('\n');
}

}  // namespace svcres::metrics
