#pragma once
// The backend call wired DIRECTLY to Resolver -> EndpointTable -> policy + OutlierDetector, for trees
// without svcres/service.hpp (this was written before the Service layer existed; backend_service.hpp
// is used when it is present). The retry rules are the ones Service::call() is specified to have:
// - per-try timeout, bounded by the overall deadline (Lambda's deadline minus a margin);
// - a failed try is retried on another task when one exists (PickContext::avoid);
// - jittered exponential backoff between tries, never sleeping past the deadline;
// - a retry budget: retries within a 10 s window may not exceed a percentage of requests (at least
//   10), so a dead service does not get every request multiplied by max_tries;
// - what is retryable: connect failure, reset/closed, timeout, malformed reply, HTTP 5xx.
//   HTTP 2xx-4xx is the backend's answer and ends the call.

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/http_client.hpp"
#include "common/json.hpp"
#include "lambda_runtime/backend.hpp"
#include "lambda_runtime/config.hpp"
#include "svcres/balance/feedback.hpp"
#include "svcres/balance/least_request.hpp"
#include "svcres/balance/outlier.hpp"
#include "svcres/balance/peak_ewma.hpp"
#include "svcres/balance/round_robin.hpp"
#include "svcres/balance/weighted_srv.hpp"
#include "svcres/net/posix_transport.hpp"
#include "svcres/resolve/resolver.hpp"
#include "svcres/table/endpoint_table.hpp"

namespace svcres_examples {
namespace lambda {

namespace http = svcres_examples::http;

using Table = svcres::EndpointTable<64>;
using DnsResolver = svcres::Resolver<svcres::PosixTransport, svcres::SteadyClock, 64, 64>;

template <class Policy>
class DirectBackend final : public BackendBase {
 public:
  DirectBackend(const Config& cfg, svcres::ResolvConf conf)
      : cfg_(cfg),
        resolver_(std::make_unique<DnsResolver>(std::move(conf))),
        table_(std::make_unique<Table>()),
        detector_(svcres::OutlierConfig{}),
        rng_(svcres::Rng::from_entropy()) {}

  const char* wiring() const noexcept override { return "resolver + endpoint table + policy (direct)"; }

  bool warm_up(DnsFigures& dns, std::string& error) override {
    refresh(dns);
    if (dns.error != Errc::ok) {
      error = "resolving " + cfg_.backend + ": " + svcres::to_string(dns.error);
      return false;
    }
    if (dns.endpoints == 0) {
      error = "resolving " + cfg_.backend + ": no endpoints";
      return false;
    }
    return true;
  }

  CallResult call(const std::string& body, Clock::time_point deadline) override {
    CallResult out;
    refresh(out.dns);
    window_.add_request(Clock::now());
    svcres::Endpoint last_failed;
    bool have_failed = false;
    for (unsigned attempt = 0; attempt < cfg_.max_tries; ++attempt) {
      auto now = Clock::now();
      if (now >= deadline) {
        if (out.tries.empty()) out.tries.push_back({"", 0, Errc::deadline_exceeded, "no time left before the first try", 0});
        break;
      }
      if (attempt > 0) {
        if (!window_.allow_retry(now, cfg_.retry_budget_percent)) {
          out.budget_exhausted = true;
          break;
        }
        backoff(attempt, deadline);
        if (Clock::now() >= deadline) break;
        refresh(out.dns);  // a task that failed may have left DNS; cheap when the cache is fresh
      }
      TryRecord rec;
      if (!try_once(body, deadline, have_failed ? &last_failed : nullptr, rec, out)) {
        // rec.task holds the endpoint text; keep its identity to avoid it on the next try.
        svcres::Endpoint ep;
        if (svcres::Endpoint::parse(rec.task).get(ep) == Errc::ok) {
          last_failed = ep;
          have_failed = true;
        }
        bool nothing_to_pick = rec.error == Errc::no_endpoints;
        out.tries.push_back(std::move(rec));
        if (nothing_to_pick) break;
        continue;
      }
      out.tries.push_back(std::move(rec));
      return out;
    }
    finish_error(out, deadline);
    return out;
  }

 private:
  // Republishes the table when DNS says something new. A failed lookup keeps the last known set: an
  // outage of the DNS server must not empty a working endpoint list (only nxdomain/nodata may).
  void refresh(DnsFigures& dns) {
    auto t0 = Clock::now();
    auto a = resolver_->resolve(cfg_.backend, svcres::dns::Type::SRV);
    std::uint32_t packets = a.packets;
    bool srv = true;
    if (a.authoritative_empty()) {
      // No SRV records: Cloud Map namespaces may register A records only. The port comes from config.
      a = resolver_->resolve(cfg_.backend, svcres::dns::Type::A);
      packets += a.packets;
      srv = false;
    }
    dns.packets += packets;
    dns.ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    dns.error = a.error;
    dns.from_cache = a.from_cache;
    dns.stale = a.stale;
    dns.ttl = a.ttl;
    if (a.ok() || a.authoritative_empty()) {
      std::vector<svcres::Endpoint> eps;
      for (const svcres::Endpoint& e : a.endpoints) {
        svcres::Endpoint x = e;
        if (!srv) x.port = cfg_.backend_port;
        eps.push_back(x);
      }
      if (eps != published_) {
        if (table_->publish(eps.data(), eps.size()).ok()) published_ = std::move(eps);
      }
    }
    dns.endpoints = published_.size();
  }

  // One try on one task. Returns true when the backend answered with a non-retryable status.
  bool try_once(const std::string& body, Clock::time_point deadline, const svcres::Endpoint* avoid, TryRecord& rec,
                CallResult& out) {
    svcres::PickContext ctx(rng_, svcres::SteadyClock{}.now());
    svcres::UsableSet<Table::capacity()> usable;
    svcres::Endpoint ep;
    svcres::SlotRef ref;
    {
      auto snap = table_->snapshot();
      if (snap.empty()) {
        rec.error = Errc::no_endpoints;
        rec.message = "no endpoints known for " + cfg_.backend;
        return false;
      }
      detector_.filter(snap, ctx.now, usable, ctx);
      if (avoid)
        for (std::size_t i = 0; i < snap.size(); ++i)
          if (snap.endpoint(i).same_identity(*avoid)) ctx.avoid = i;
      std::size_t i = policy_.pick(snap, ctx);
      if (i == svcres::no_pick) {
        rec.error = Errc::no_healthy_endpoint;
        rec.message = "every endpoint of " + cfg_.backend + " is ejected";
        return false;
      }
      ep = snap.endpoint(i);
      ref = snap.start(i);
    }
    rec.task = std::string(svcres::to_text(ep).view());
    http::Client& client = client_for(ep);
    http::Request req;
    req.method = cfg_.method;
    req.target = cfg_.path;
    req.headers.add("Content-Type", "application/json");
    if (cfg_.method == "POST") req.body = body;
    auto t0 = Clock::now();
    auto try_deadline = std::min(deadline, t0 + cfg_.try_timeout);
    http::Response res;
    http::Status s = client.request(req, try_deadline, res);
    auto spent = Clock::now() - t0;
    rec.ms = std::chrono::duration<double, std::milli>(spent).count();
    bool answered = s.ok() && res.status < 500;
    svcres::complete(*table_, ref, svcres::Outcome{answered, spent}, svcres::SteadyClock{}.now(), &detector_);
    if (!s) {
      rec.error = s.code;
      rec.message = s.text();
      if (s.code == Errc::timeout && try_deadline == deadline) rec.error = Errc::deadline_exceeded;
      return false;
    }
    rec.status = res.status;
    if (!answered) {
      rec.error = Errc::http_error;
      rec.message = "HTTP " + std::to_string(res.status) + " " + res.reason + ": " + json::truncate(res.body, 120);
      return false;
    }
    out.status = res.status;
    out.task = rec.task;
    if (res.status >= 200 && res.status < 300) {
      out.ok = true;
      out.body = std::move(res.body);
    } else {
      out.ok = false;
      out.error_type = "Backend.Rejected";
      out.error_message = cfg_.backend + " task " + rec.task + " answered HTTP " + std::to_string(res.status) + ": " +
                          json::truncate(res.body, 300);
    }
    return true;
  }

  void finish_error(CallResult& out, Clock::time_point deadline) {
    out.ok = false;
    bool deadline_hit = Clock::now() >= deadline ||
                        (!out.tries.empty() && out.tries.back().error == Errc::deadline_exceeded);
    if (!out.tries.empty() && (out.tries.back().error == Errc::no_endpoints)) {
      out.error_type = "Backend.NoEndpoints";
    } else if (deadline_hit) {
      out.error_type = "Backend.DeadlineExceeded";
    } else if (out.budget_exhausted) {
      out.error_type = "Backend.RetryBudgetExhausted";
    } else {
      out.error_type = "Backend.Unavailable";
    }
    std::string m = cfg_.backend + ": " + std::to_string(out.tries.size()) + " tr" + (out.tries.size() == 1 ? "y" : "ies") +
                    " failed";
    if (deadline_hit) m += ", deadline reached";
    if (out.budget_exhausted) m += ", retry budget exhausted";
    for (const TryRecord& t : out.tries)
      m += "; " + (t.task.empty() ? std::string("-") : t.task) + ": " + (t.message.empty() ? svcres::to_string(t.error) : t.message);
    out.error_message = m;
  }

  void backoff(unsigned attempt, Clock::time_point deadline) {
    // Full jitter (uniform in [0, base * 2^(attempt-1)]), capped at 250 ms and at the deadline.
    double cap_ms = std::min(250.0, 25.0 * static_cast<double>(1u << std::min(attempt - 1, 4u)));
    auto wait = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(cap_ms * rng_.unit()));
    auto until = std::min(deadline, Clock::now() + wait);
    std::this_thread::sleep_until(until);
  }

  http::Client& client_for(const svcres::Endpoint& ep) {
    std::string key(svcres::to_text(ep).view());
    auto it = clients_.find(key);
    if (it == clients_.end()) {
      auto c = std::make_unique<http::Client>(ep);
      c->limits().max_body_bytes = 6 * 1024 * 1024;
      it = clients_.emplace(key, std::move(c)).first;
    }
    return *it->second;
  }

  // Requests and retries of the last 10 s, in 1 s buckets.
  class RetryWindow {
   public:
    void add_request(Clock::time_point now) { bucket(now).requests++; }
    bool allow_retry(Clock::time_point now, unsigned percent) {
      std::uint64_t req = 0, ret = 0;
      auto sec = seconds(now);
      for (const Bucket& b : buckets_)
        if (b.second + 10 > sec) {
          req += b.requests;
          ret += b.retries;
        }
      if (ret >= 10 && ret * 100 >= req * percent) return false;
      bucket(now).retries++;
      return true;
    }

   private:
    struct Bucket {
      std::int64_t second = -100;
      std::uint64_t requests = 0, retries = 0;
    };
    static std::int64_t seconds(Clock::time_point t) {
      return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
    }
    Bucket& bucket(Clock::time_point now) {
      auto sec = seconds(now);
      Bucket& b = buckets_[static_cast<std::size_t>(sec % 10)];
      if (b.second != sec) b = Bucket{sec, 0, 0};
      return b;
    }
    Bucket buckets_[10];
  };

  Config cfg_;
  std::unique_ptr<DnsResolver> resolver_;
  std::unique_ptr<Table> table_;
  svcres::OutlierDetector detector_;
  Policy policy_;
  svcres::Rng rng_;
  std::vector<svcres::Endpoint> published_;
  std::map<std::string, std::unique_ptr<http::Client>> clients_;
  RetryWindow window_;
};

inline std::unique_ptr<BackendBase> make_direct_backend(const Config& cfg, svcres::ResolvConf conf) {
  switch (cfg.policy) {
    case PolicyKind::round_robin: return std::make_unique<DirectBackend<svcres::RoundRobin>>(cfg, std::move(conf));
    case PolicyKind::weighted_srv: return std::make_unique<DirectBackend<svcres::WeightedSrv>>(cfg, std::move(conf));
    case PolicyKind::peak_ewma: return std::make_unique<DirectBackend<svcres::PeakEwma>>(cfg, std::move(conf));
    case PolicyKind::least_request: break;
  }
  return std::make_unique<DirectBackend<svcres::LeastRequest>>(cfg, std::move(conf));
}

}  // namespace lambda
}  // namespace svcres_examples
