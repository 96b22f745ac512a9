#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>

#include "mini_json.hpp"
#include "svcres/metrics/emf.hpp"
#include "svcres/metrics/prometheus.hpp"
#include "test.hpp"

using namespace std::chrono;
using svcres::metrics::FailureKind;
using svcres::metrics::ServiceMetrics;
using svcres_test::Json;

namespace {
ServiceMetrics& sample(ServiceMetrics& m) {
  m.requests.add(10);
  for (int i = 0; i < 7; ++i) m.record_success(milliseconds(10 + i));
  m.record_failure(FailureKind::http_5xx, milliseconds(50));
  m.record_failure(FailureKind::http_5xx, milliseconds(50));
  m.record_failure(FailureKind::connect, milliseconds(1));
  m.retries.add(2);
  m.retries_refused.add(1);
  m.ejections.add(1);
  m.dns_resolutions.add(4);
  m.dns_failures.add(1);
  m.dns_stale_served.add(1);
  m.dns_packets_sent.add(9);
  m.endpoints_known.set(3);
  return m;
}

// Parses the exposition format back: every sample line as "name{labels}" -> value; checks that every
// series was announced by a TYPE line before it.
std::map<std::string, double> parse_prometheus(const std::string& text) {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    REQUIRE_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream l(line.substr(7));
      std::string name, type;
      l >> name >> type;
      REQUIRE((type == "counter" || type == "gauge" || type == "histogram"));
      types[name] = type;
      continue;
    }
    auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    std::string series = line.substr(0, space);
    std::string name = series.substr(0, series.find('{'));
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (!types.count(family) && family.size() > std::strlen(suffix) &&
          family.compare(family.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
        family.erase(family.size() - std::strlen(suffix));
    INFO(line);
    REQUIRE(types.count(family) == 1);
    char* end = nullptr;
    std::string value = line.substr(space + 1);
    double v = value == "+Inf" ? 1e300 : std::strtod(value.c_str(), &end);
    REQUIRE(samples.count(series) == 0);
    samples[series] = v;
  }
  return samples;
}
}  // namespace

TEST_CASE("Prometheus output parses back to the recorded figures", "[metrics][prometheus]") {
  ServiceMetrics m;
  std::string out;
  append_prometheus(out, "user-service.local", sample(m).snapshot());
  auto s = parse_prometheus(out);
  CHECK(s.at("svcres_requests_total{service=\"user-service.local\"}") == 10);
  CHECK(s.at("svcres_successes_total{service=\"user-service.local\"}") == 7);
  CHECK(s.at("svcres_failures_total{service=\"user-service.local\",kind=\"http_5xx\"}") == 2);
  CHECK(s.at("svcres_failures_total{service=\"user-service.local\",kind=\"connect\"}") == 1);
  CHECK(s.at("svcres_retries_refused_total{service=\"user-service.local\"}") == 1);
  CHECK(s.at("svcres_dns_packets_sent_total{service=\"user-service.local\"}") == 9);
  CHECK(s.at("svcres_endpoints{service=\"user-service.local\"}") == 3);
  CHECK(s.at("svcres_request_duration_seconds_count{service=\"user-service.local\"}") == 10);
  CHECK(s.at("svcres_request_duration_seconds_sum{service=\"user-service.local\"}") == Approx(0.192));
  // Buckets are cumulative and end at the count.
  int buckets = 0;
  for (const auto& [series, v] : s) {
    if (series.rfind("svcres_request_duration_seconds_bucket", 0) != 0) continue;
    ++buckets;
    if (series.find("+Inf") != std::string::npos) CHECK(v == 10);
  }
  CHECK(buckets > 20);
  // The 16-32 ms edge holds the 7 successes plus the 1 ms failure.
  CHECK(s.at("svcres_request_duration_seconds_bucket{service=\"user-service.local\",le=\"0.016384\"}") == 8);
}

TEST_CASE("Prometheus label values are escaped", "[metrics][prometheus]") {
  ServiceMetrics m;
  std::string out;
  append_prometheus(out, "we\"ird\\name\n", m.snapshot());
  CHECK(out.find("service=\"we\\\"ird\\\\name\\n\"") != std::string::npos);
  parse_prometheus(out);
}

TEST_CASE("EMF line is one JSON object CloudWatch accepts", "[metrics][emf]") {
  ServiceMetrics m;
  std::string out;
  svcres::metrics::EmfOptions opt;
  opt.discovery_name = "checkout-fn";
  opt.target_discovery_name = "user-service.local";
  append_emf(out, opt, sample(m).snapshot(), 1700000000123);
  REQUIRE(out.back() == '\n');
  REQUIRE(out.find('\n') == out.size() - 1);  // exactly one line
  Json j;
  REQUIRE(svcres_test::parse_json(out, j));
  const Json& aws = j["_aws"];
  CHECK(aws["Timestamp"].num == 1700000000123.0);
  REQUIRE(aws["CloudWatchMetrics"].items.size() == 1);
  const Json& d = aws["CloudWatchMetrics"].items[0];
  CHECK(d["Namespace"].str == "svcres");
  const auto& metrics = d["Metrics"].items;
  REQUIRE(!metrics.empty());
  CHECK(metrics.size() <= 100);
  // Every metric declared is present as a number at the top level, and every dimension is a string.
  for (const auto& metric : metrics) {
    INFO(metric["Name"].str);
    REQUIRE(j.has(metric["Name"].str));
    CHECK(j[metric["Name"].str].kind == Json::Kind::number);
    CHECK((metric["Unit"].str == "Count" || metric["Unit"].str == "Milliseconds"));
  }
  for (const auto& set : d["Dimensions"].items)
    for (const auto& dim : set.items) CHECK(j[dim.str].kind == Json::Kind::string);
  CHECK(j["DiscoveryName"].str == "checkout-fn");
  CHECK(j["TargetDiscoveryName"].str == "user-service.local");
  CHECK(j["RequestCount"].num == 10);
  CHECK(j["HTTPCode_Target_5XX_Count"].num == 2);
  CHECK(j["ConnectionErrorCount"].num == 1);
  CHECK(j["RetryCount"].num == 2);
  CHECK(j["DnsStaleAnswerCount"].num == 1);
  CHECK(j["EndpointsKnown"].num == 3);
  CHECK(j["TargetResponseTime"].num == Approx(19.2));
  CHECK(j["TargetResponseTimeP99"].num >= 50.0);
}

TEST_CASE("EMF escapes dimension values", "[metrics][emf]") {
  ServiceMetrics m;
  std::string out;
  svcres::metrics::EmfOptions opt;
  opt.target_discovery_name = "a\"b\\c\x01";
  append_emf(out, opt, m.snapshot(), 0);
  Json j;
  REQUIRE(svcres_test::parse_json(out, j));
  CHECK(j["TargetDiscoveryName"].str == std::string("a\"b\\c\x01"));
  CHECK_FALSE(j.has("DiscoveryName"));
}

TEST_CASE("EMF carries the caller's extra metrics and properties, within the 100-metric limit", "[metrics][emf]") {
  ServiceMetrics m;
  svcres::metrics::EmfExtraMetric extras[120];
  std::string names[120];
  for (int i = 0; i < 120; ++i) {
    names[i] = "Extra" + std::to_string(i);
    extras[i] = {names[i], "Milliseconds", i + 0.25};
  }
  svcres::metrics::EmfProperty props[] = {{"requestId", "8476a536-e9f4"}, {"outcome", "error \"quoted\""}};
  svcres::metrics::EmfOptions opt;
  opt.target_discovery_name = "user-service.local";
  opt.extra_metrics = extras;
  opt.extra_metric_count = 120;
  opt.properties = props;
  opt.property_count = 2;
  std::string out;
  append_emf(out, opt, m.snapshot(), 5);
  Json j;
  REQUIRE(svcres_test::parse_json(out, j));
  const auto& declared = j["_aws"]["CloudWatchMetrics"].items[0]["Metrics"].items;
  CHECK(declared.size() == 100);
  CHECK(j["Extra0"].num == Approx(0.25));
  CHECK(j["Extra83"].num == Approx(83.25));
  CHECK_FALSE(j.has("Extra84"));  // 16 built-in + 84 extras = 100
  CHECK(j["requestId"].str == "8476a536-e9f4");
  CHECK(j["outcome"].str == "error \"quoted\"");
}
