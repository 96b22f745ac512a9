#pragma once
// The backend call through svcres::Service: Service::call() does the picking, leases, outcome
// feedback (in-flight, peak EWMA, outlier ejection), jittered back-off, retry budget and "never the
// task that just failed"; this file supplies one HTTP try and maps the results for the handler.
//
// Retry rules chosen for the Lambda (RetryPolicy): SVCRES_MAX_TRIES tries; retried on connect
// failure, per-try timeout, reset/malformed reply and HTTP 500/502/503/504. Timeouts and resets are
// retried (Envoy's defaults do not) because the example's backend call is a lookup, safe to repeat;
// a function whose backend call is not idempotent should turn on_timeout/on_failure off.
// Time: each try gets SVCRES_TRY_TIMEOUT_MS, the whole call (the DNS refresh a pick starts when the
// TTL has passed included) Lambda's deadline minus the margin.
// Errors name their cause: Backend.DiscoveryTimeout when the call ran out of time, or failed with a
// DNS timeout, while the DNS refresh it started got no answer (a stale set served or the refresh
// failed); Backend.DiscoveryFailed for other resolution errors; Backend.DeadlineExceeded,
// Backend.Unavailable, Backend.NoEndpoints, Backend.RetryBudgetExhausted for the tries.
// The Service's retry budget caps concurrent retries (at least 3), so with Lambda's one invocation at
// a time it never refuses; SVCRES_MAX_TRIES and the deadline are what bound the retries here.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "common/http_client.hpp"
#include "common/json.hpp"
#include "lambda_runtime/backend.hpp"
#include "svcres/balance/least_request.hpp"
#include "svcres/balance/peak_ewma.hpp"
#include "svcres/balance/round_robin.hpp"
#include "svcres/balance/weighted_srv.hpp"
#include "svcres/service.hpp"

namespace svcres_examples {
namespace lambda {

template <class Policy>
class ServiceBackend final : public BackendBase {
  using Svc = svcres::Service<Policy>;
  // The share of the 10 s Lambda init phase the first resolution may use.
  static constexpr std::chrono::milliseconds init_resolve_budget{8000};

 public:
  ServiceBackend(const Config& cfg, const svcres::ResolvConf& conf) : cfg_(cfg) {
    svcres::ServiceOptions opts;
    if (cfg.backend_port_set) {
      opts.query = svcres::dns::Type::A;  // A records only: the port comes from configuration
      opts.port = cfg.backend_port;
    }
    svc_ = std::make_unique<Svc>(conf, cfg.backend, opts);
    rp_.max_retries = cfg.max_tries - 1;
    rp_.on_connect_failure = true;
    rp_.on_timeout = true;
    rp_.on_failure = true;
    rp_.retriable_status[0] = 500;
    rp_.retriable_status[1] = 502;
    rp_.retriable_status[2] = 503;
    rp_.retriable_status[3] = 504;
    rp_.per_try_timeout = cfg.try_timeout;
    rp_.timeout = std::chrono::minutes(15);  // Lambda's own maximum; the invocation deadline is tighter
  }

  bool warm_up(std::string& error) override {
    // Config::from_env allowed 253 characters and a final dot; a Service that keeps fewer would cut it.
    if (cfg_.backend.size() > Svc::max_name) {
      error = "SVCRES_BACKEND is " + std::to_string(cfg_.backend.size()) + " characters; this svcres::Service keeps " +
              std::to_string(Svc::max_name) + " (drop the final dot)";
      return false;
    }
    // Lambda ends an init phase after 10 s; a silent DNS server (glibc's defaults: 2 x 5 s) must
    // fail it with a message instead.
    svcres::Status s = svc_->refresh(svcres::SteadyClock{}.now() + init_resolve_budget);
    if (!s) {
      error = "resolving " + cfg_.backend + ": " + svcres::to_string(s.error());
      return false;
    }
    if (svc_->snapshot().empty()) {
      error = "resolving " + cfg_.backend + ": no endpoints";
      return false;
    }
    return true;
  }

  svcres::metrics::MetricsSnapshot metrics_snapshot() const noexcept override { return svc_->metrics_snapshot(); }

  CallResult call(const std::string& body, Clock::time_point deadline) override {
    CallResult out;
    http::Response answer;
    auto try_once = [&](const svcres::Endpoint& ep, svcres::TimePoint try_deadline) -> svcres::TryOutcome {
      TryRecord rec;
      rec.task = std::string(svcres::to_text(ep).view());
      http::Client& client = client_for(ep);
      http::Request req;
      req.method = cfg_.method;
      req.target = cfg_.path;
      req.headers.add("Content-Type", "application/json");
      if (cfg_.method == "POST") req.body = body;
      auto t0 = Clock::now();
      http::Response res;
      http::Status s = client.request(req, try_deadline, res);
      rec.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      svcres::TryOutcome o;
      if (!s) {
        rec.error = s.code;
        rec.message = s.text();
        o = s.code == Errc::connection_refused ? svcres::TryOutcome::connect_failure()
            : s.code == Errc::timeout          ? svcres::TryOutcome::timeout()
                                               : svcres::TryOutcome::failure();
        if (s.code == Errc::network_error && client.connects() == 0) o = svcres::TryOutcome::connect_failure();
      } else {
        rec.status = res.status;
        o = svcres::TryOutcome::http(static_cast<std::uint16_t>(res.status));
        if (res.status >= 500) {
          rec.error = Errc::http_error;
          rec.message = "HTTP " + std::to_string(res.status) + " " + res.reason + ": " + json::truncate(res.body, 120);
        }
        answer = std::move(res);
      }
      out.tries.push_back(std::move(rec));
      return o;
    };
    const svcres::metrics::MetricsSnapshot before = svc_->metrics_snapshot();
    svcres::CallResult r = svc_->call(try_once, rp_, deadline);
    const svcres::metrics::MetricsSnapshot during = svc_->metrics_snapshot().since(before);
    if (r.ok()) {
      out.status = answer.status;
      out.task = out.tries.empty() ? std::string() : out.tries.back().task;
      if (answer.status >= 200 && answer.status < 300) {
        out.ok = true;
        out.body = std::move(answer.body);
      } else {
        out.error_type = "Backend.Rejected";
        out.error_message = cfg_.backend + " task " + out.task + " answered HTTP " + std::to_string(answer.status) +
                            ": " + json::truncate(answer.body, 300);
      }
      return out;
    }
    out.ok = false;
    switch (r.error) {
      case Errc::try_failed: out.error_type = "Backend.Unavailable"; break;
      case Errc::deadline_exceeded: out.error_type = "Backend.DeadlineExceeded"; break;
      case Errc::retry_budget_exhausted: out.error_type = "Backend.RetryBudgetExhausted"; break;
      case Errc::no_endpoints:
      case Errc::no_healthy_endpoint: out.error_type = "Backend.NoEndpoints"; break;
      default: out.error_type = "Backend.DiscoveryFailed"; break;
    }
    // A try that ran into the overall deadline is a deadline error, whatever the retry rules said.
    const bool out_of_time = r.error == Errc::deadline_exceeded || r.error == Errc::timeout ||
                             (r.error == Errc::try_failed && Clock::now() >= deadline);
    if (r.error == Errc::try_failed && out_of_time) out.error_type = "Backend.DeadlineExceeded";
    // The DNS refresh this call started got no answer (every server failed: the set was kept or a
    // stale answer served): when the time ran out, that is why.
    const bool dns_unanswered = during.dns_failures > 0 || during.dns_stale_served > 0;
    std::string m = cfg_.backend + ": ";
    if (out_of_time && dns_unanswered) {
      out.error_type = "Backend.DiscoveryTimeout";
      m += "no DNS answer to the refresh before the invocation's deadline (" +
           std::to_string(during.dns_packets_sent) + " queries sent, last resolution: " +
           svcres::to_string(svc_->last_resolution()) + (during.dns_stale_served > 0 ? ", stale set kept" : "") + "); ";
    }
    m += std::string(svcres::to_string(r.error)) + " after " + std::to_string(out.tries.size()) + " tr" +
         (out.tries.size() == 1 ? "y" : "ies");
    for (const TryRecord& t : out.tries)
      m += "; " + t.task + ": " + (t.message.empty() ? std::string(svcres::to_string(t.error)) : t.message);
    out.error_message = m;
    return out;
  }

 private:
  http::Client& client_for(const svcres::Endpoint& ep) {
    std::string key(svcres::to_text(ep).view());
    auto it = clients_.find(key);
    if (it == clients_.end()) {
      auto c = std::make_unique<http::Client>(ep);
      c->limits().max_body_bytes = 6 * 1024 * 1024;  // Lambda's response limit
      it = clients_.emplace(key, std::move(c)).first;
    }
    return *it->second;
  }

  Config cfg_;
  std::unique_ptr<Svc> svc_;
  svcres::RetryPolicy rp_;
  std::map<std::string, std::unique_ptr<http::Client>> clients_;
};

inline std::unique_ptr<BackendBase> make_service_backend(const Config& cfg, const svcres::ResolvConf& conf) {
  switch (cfg.policy) {
    case PolicyKind::round_robin: return std::make_unique<ServiceBackend<svcres::RoundRobin>>(cfg, conf);
    case PolicyKind::weighted_srv: return std::make_unique<ServiceBackend<svcres::WeightedSrv>>(cfg, conf);
    case PolicyKind::peak_ewma: return std::make_unique<ServiceBackend<svcres::PeakEwma>>(cfg, conf);
    case PolicyKind::least_request: break;
  }
  return std::make_unique<ServiceBackend<svcres::LeastRequest>>(cfg, conf);
}

}  // namespace lambda
}  // namespace svcres_examples
