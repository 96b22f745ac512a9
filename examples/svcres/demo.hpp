#pragma once
// `svcres demo`: an ECS-like Cloud Map namespace on loopback, resolved and balanced in-process.
//
// Everything stays on 127.0.0.0/8: the DNS responder on 127.0.0.1 (a port in 15600-15699) and the
// tasks, tiny HTTP servers on 127.0.6.x. Steps, one line each as they run, then a summary:
//   1 namespace  start 15 tasks and the authoritative responder for local.
//   2 resolve    SRV/A answers through svcres::Resolver; order-service capped at 8 records
//                (Route 53 multivalue); a 512-byte UDP limit forcing TC and the TCP retry;
//                merge: a Service in MergeMode::union_of_refreshes learning all 10 order-service tasks
//   3 policies   a few thousand HTTP requests through Service::call() with each policy
//   4 faults     one task answering 503, one hanging: retries rescue every call, both get ejected
//   5 follow     a task deregistered from DNS: the table follows within the TTL, no pick goes there
// Exit status 0 only if every step's check held.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/backend_server.hpp"
#include "http_try.hpp"
#include "responder.hpp"
#include "svcres/balance/least_request.hpp"
#include "svcres/balance/maglev.hpp"
#include "svcres/balance/peak_ewma.hpp"
#include "svcres/balance/random.hpp"
#include "svcres/balance/weighted_srv.hpp"
#include "svcres/metrics/emf.hpp"
#include "svcres/metrics/prometheus.hpp"
#include "svcres/service.hpp"
#include "zone.hpp"

namespace svcres_cli {

namespace demo_detail {

using Backend = svcres_examples::BackendServer;
using Clock = std::chrono::steady_clock;

struct Task {
  std::string service;
  std::string id;  // Cloud Map instance id
  std::unique_ptr<Backend> server;
  bool registered = true;
};

struct PolicyRow {
  std::string policy;
  unsigned long long calls = 0, ok = 0, retries = 0, ejections = 0;
  unsigned long long refused = 0;              // calls that failed because the retry budget said no
  svcres::Errc other_error = svcres::Errc::ok;  // any other reason a call failed
  std::size_t tasks_served = 0;
  std::size_t min_hits = 0, max_hits = 0;
  std::uint64_t p50_us = 0, p99_us = 0;
};

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

class Demo {
 public:
  int run() {
    t0_ = Clock::now();
    step_namespace();
    step_resolve();
    step_policies();
    step_faults();
    step_follow();
    summary();
    stop_all();
    const double s = seconds_since(t0_);
    std::printf("\ndemo: %d of %d checks held in %.1f s\n", passed_, passed_ + failed_, s);
    return failed_ == 0 ? 0 : 1;
  }

 private:
  void line(const char* step, bool ok, const std::string& detail) {
    (ok ? passed_ : failed_)++;
    std::printf("[%4.1fs] %-9s %-4s %s\n", seconds_since(t0_), step, ok ? "ok" : "FAIL", detail.c_str());
    std::fflush(stdout);
  }

  static svcres::Endpoint at(int last_octet, std::uint16_t port) {
    return svcres::Endpoint{svcres::IpAddress::v4(127, 0, 6, static_cast<std::uint8_t>(last_octet)), port, 0, 1};
  }

  bool add_task(const std::string& service, int octet, std::uint16_t port) {
    Task t;
    t.service = service;
    char id[20];
    std::snprintf(id, sizeof id, "%08x", static_cast<unsigned>(svcres::detail::mix64(octet * 7919u + service.size()) >> 32));
    t.id = id;
    t.server = std::make_unique<Backend>(at(octet, port), Backend::Mode::healthy, std::chrono::milliseconds(300));
    auto s = t.server->start();
    if (!s.ok()) {
      start_error_ = s.text();
      return false;
    }
    tasks_.push_back(std::move(t));
    return true;
  }

  std::string zone_text() const {
    std::string z =
        "$ORIGIN local.\n$TTL 60\n"
        "@ 60 IN SOA ns1.local. hostmaster.local. ( 1 7200 900 1209600 5 )\n"
        "@ IN NS ns1\nns1 IN A 127.0.0.1\n";
    for (const Task& t : tasks_) {
      if (!t.registered) continue;
      const svcres::Endpoint& e = t.server->endpoint();
      const std::string addr(e.address.to_text().view());
      if (t.service == "api-service") {
        z += "api-service 1 IN A " + addr + "\n";  // A only: the caller knows the port
      } else {
        const std::string host = t.id + "." + t.service;
        z += t.service + " 1 IN SRV 1 1 " + std::to_string(e.port) + " " + host + "\n";
        z += host + " 1 IN A " + addr + "\n";
        z += t.service + " 1 IN A " + addr + "\n";
      }
    }
    return z;
  }

  bool load_zone(Zone& z) {
    ZoneError err;
    if (!parse_zone(zone_text(), "demo.zone", "", z, err)) {
      start_error_ = err.text();
      return false;
    }
    return true;
  }

  void step_namespace() {
    bool ok = add_task("api-service", 10, 0);
    if (ok) ok = add_task("api-service", 11, tasks_.back().server->endpoint().port);
    for (int i = 0; ok && i < 3; ++i) ok = add_task("user-service", 20 + i, 0);
    for (int i = 0; ok && i < 10; ++i) ok = add_task("order-service", 30 + i, 0);
    Zone z;
    if (ok) ok = load_zone(z);
    if (ok) {
      for (std::uint16_t port = 15600; port < 15700; ++port) {
        ResponderOptions ro;
        ro.port = port;
        ro.multivalue = 8;  // Route 53 multivalue answers: at most 8 records
        auto r = std::make_unique<Responder>(z, ro);
        if (r->start().empty()) {
          dns_ = std::move(r);
          break;
        }
      }
      if (!dns_) start_error_ = "no free DNS port in 127.0.0.1:15600-15699";
      ok = dns_ != nullptr;
    }
    if (ok) {
      (void)conf_.add_nameserver(svcres::NameServer{svcres::IpAddress::v4(127, 0, 0, 1), dns_->port()});
      conf_.timeout = std::chrono::milliseconds(500);
      conf_.attempts = 2;
    }
    line("namespace", ok,
         ok ? "local.: api-service 2 tasks (A), user-service 3 tasks (SRV), order-service 10 tasks (SRV, 8 per "
              "answer) on 127.0.6.x; DNS on 127.0.0.1:" + std::to_string(dns_->port()) + " (" +
                  std::to_string(z.records.size()) + " records)"
            : start_error_);
  }

  void step_resolve() {
    if (!dns_) return line("resolve", false, "no namespace");
    auto r = std::make_unique<svcres::Resolver<svcres::PosixTransport>>(conf_);
    auto user = r->resolve("user-service.local", svcres::dns::Type::SRV);
    auto order = r->resolve("order-service.local", svcres::dns::Type::SRV);
    auto api = r->resolve("api-service.local", svcres::dns::Type::A);
    // No EDNS: the classic 512-byte UDP limit; 8 SRV records and their addresses do not fit.
    svcres::ResolverOptions small;
    small.edns_payload = 0;
    auto r512 = std::make_unique<svcres::Resolver<svcres::PosixTransport>>(conf_, small);
    auto order512 = r512->resolve("order-service.local", svcres::dns::Type::SRV);
    const bool ok = user.ok() && user.endpoints.size() == 3 && order.ok() && order.endpoints.size() == 8 && api.ok() &&
                    api.endpoints.size() == 2 && order512.ok() && order512.endpoints.size() == 8 &&
                    r512->stats().tcp_fallbacks > 0;
    line("resolve", ok,
         "user-service SRV " + std::to_string(user.endpoints.size()) + " (" + svcres::to_string(user.error) +
             "), order-service SRV " + std::to_string(order.endpoints.size()) + " of 10 (multivalue), api-service A " +
             std::to_string(api.endpoints.size()) + "; without EDNS: TC, TCP retry, " +
             std::to_string(order512.endpoints.size()) + " endpoints, " + std::to_string(r512->stats().packets) +
             " packets");
    step_merge();
  }

  // Route 53 answers 8 of order-service's 10 tasks per query; a Service in merge mode unions the
  // answers and learns all 10 (a task is missing from R answers with probability 0.2^R, so 10
  // tasks are all known within 30 refreshes except with probability 10 * 0.2^30 ~ 1e-20).
  void step_merge() {
    using Svc = svcres::Service<svcres::RoundRobin>;
    svcres::ServiceOptions opts;
    opts.merge = svcres::MergeMode::union_of_refreshes;
    auto svc = std::make_unique<Svc>(conf_, "order-service.local", opts);
    std::size_t first = 0, known = 0;
    int refreshes = 0;
    while (refreshes < 30 && known < 10) {
      const bool ok = svc->refresh().ok();
      ++refreshes;
      if (!ok) break;
      known = svc->snapshot().size();
      if (refreshes == 1) first = known;
    }
    const bool ok = first == 8 && known == 10;
    line("merge", ok,
         "order-service through a Service in merge mode: " + std::to_string(first) + " of 10 after one answer, " +
             std::to_string(known) + " of 10 after " + std::to_string(refreshes) + " refreshes (" +
             std::to_string(svc->discovery().total_packets()) + " packets)");
  }

  struct NoSetup {
    template <class S>
    void operator()(S&) const {}
  };

  // `setup(service)` runs after the first resolution, before any request.
  template <class Policy, class Setup = NoSetup>
  PolicyRow drive(const char* name, const std::string& service, unsigned calls, const svcres::RetryPolicy& rp,
                  Setup setup = Setup{}) {
    using Svc = svcres::Service<Policy>;
    svcres::ServiceOptions opts;
    auto svc = std::make_unique<Svc>(conf_, service, opts);
    (void)svc->refresh();
    setup(*svc);
    std::vector<std::size_t> before;
    for (const Task& t : tasks_) before.push_back(t.server->hits());
    std::atomic<unsigned> next{0};
    std::atomic<unsigned long long> ok{0}, refused{0};
    std::atomic<int> other_error{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        while (next.fetch_add(1) < calls) {
          auto r = svc->call([](const svcres::Endpoint& ep, svcres::TimePoint d) { return http_try(ep, d); }, rp);
          if (r.ok()) ok.fetch_add(1);
          else if (r.error == svcres::Errc::retry_budget_exhausted) refused.fetch_add(1);
          else other_error.store(static_cast<int>(r.error));
        }
      });
    }
    for (auto& th : threads) th.join();
    PolicyRow row;
    row.policy = name;
    row.calls = calls;
    row.ok = ok.load();
    row.refused = refused.load();
    row.other_error = static_cast<svcres::Errc>(other_error.load());
    auto m = svc->metrics_snapshot();
    row.retries = m.retries;
    row.ejections = m.ejections;
    row.p50_us = m.latency_quantile_us(0.5);
    row.p99_us = m.latency_quantile_us(0.99);
    row.min_hits = ~std::size_t{0};
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
      if (service.compare(0, tasks_[i].service.size() + 1, tasks_[i].service + ".") != 0) continue;
      const std::size_t h = tasks_[i].server->hits() - before[i];
      if (h) ++row.tasks_served;
      row.min_hits = std::min(row.min_hits, h);
      row.max_hits = std::max(row.max_hits, h);
    }
    last_metrics_ = m;
    last_service_ = service;
    return row;
  }

  void policy_line(const PolicyRow& r, std::size_t want_tasks) {
    const bool ok = r.ok == r.calls && r.tasks_served >= want_tasks;
    char buf[200];
    std::snprintf(buf, sizeof buf, "%-8s %llu/%llu ok over %zu tasks (per task %zu..%zu), p50 %.2f ms, p99 %.2f ms",
                  r.policy.c_str(), r.ok, r.calls, r.tasks_served, r.min_hits, r.max_hits, r.p50_us / 1000.0,
                  r.p99_us / 1000.0);
    line("policy", ok, buf);
    rows_.push_back(r);
  }

  void step_policies() {
    if (!dns_) return line("policy", false, "no namespace");
    svcres::RetryPolicy rp;
    const unsigned n = 3000;
    policy_line(drive<svcres::RoundRobin>("rr", "order-service.local", n, rp), 8);
    policy_line(drive<svcres::Random>("random", "order-service.local", n, rp), 8);
    policy_line(drive<svcres::WeightedSrv>("weighted", "order-service.local", n, rp), 8);
    policy_line(drive<svcres::LeastRequest>("p2c", "order-service.local", n, rp), 8);
    // Peak EWMA sends load to the fastest tasks and re-measures the others only as their estimate
    // decays (10 s), so in a short run it may leave some tasks idle: at least two must serve.
    policy_line(drive<svcres::PeakEwma>("ewma", "order-service.local", n, rp), 2);
    policy_line(drive<svcres::Maglev>("maglev", "order-service.local", n, rp), 8);
  }

  Task* task(int octet) {
    for (Task& t : tasks_)
      if (t.server->endpoint().address == svcres::IpAddress::v4(127, 0, 6, static_cast<std::uint8_t>(octet))) return &t;
    return nullptr;
  }

  void step_faults() {
    if (!dns_) return line("faults", false, "no namespace");
    // Route 53 answers 8 of the 10 tasks: make two tasks that this service's table holds misbehave.
    Task* failing = nullptr;
    Task* slow = nullptr;
    std::size_t f0 = 0, s0 = 0;
    auto setup = [&](auto& svc) {
      auto snap = svc.snapshot();
      for (std::size_t i = 0; i < snap.size() && !slow; ++i) {
        Task* t = task(snap.endpoint(i).address.bytes()[3]);
        if (!t) continue;
        if (!failing) failing = t;
        else slow = t;
      }
      if (!failing || !slow) return;
      failing->server->set_mode(Backend::Mode::failing);
      slow->server->set_mode(Backend::Mode::slow);
      f0 = failing->server->hits();
      s0 = slow->server->hits();
    };
    svcres::RetryPolicy rp;  // Service Connect defaults, plus: a try that hangs 100 ms is retried
    rp.per_try_timeout = std::chrono::milliseconds(100);
    rp.on_timeout = true;
    PolicyRow r = drive<svcres::RoundRobin>("faults", "order-service.local", 800, rp, setup);
    if (!failing || !slow) return line("faults", false, "the service table holds fewer than two tasks");
    failing->server->set_mode(Backend::Mode::healthy);
    slow->server->set_mode(Backend::Mode::healthy);
    faults_metrics_ = last_metrics_;
    const std::size_t fh = failing->server->hits() - f0, sh = slow->server->hits() - s0;
    // Every call succeeds, except one whose retry the budget refused: with four callers at once,
    // a fourth concurrent retry is over Envoy's minimum of 3 (and 20 % of 4 active requests).
    const bool ok = r.ok + r.refused == r.calls && r.other_error == svcres::Errc::ok && r.ejections >= 2 &&
                    r.retries >= 10;
    char buf[360];
    std::snprintf(buf, sizeof buf,
                  "rr, %s answers 503, %s hangs 300 ms (per-try timeout 100 ms): %llu/%llu calls ok (%llu denied a "
                  "retry by the budget), %llu retries, %llu ejections; the failing task got %zu tries, the hanging "
                  "one %zu",
                  failing->server->name().c_str(), slow->server->name().c_str(), r.ok, r.calls, r.refused, r.retries,
                  r.ejections, fh, sh);
    line("faults", ok, buf);
    r.policy = "rr+faults";
    rows_.push_back(r);
  }

  void step_follow() {
    if (!dns_) return line("follow", false, "no namespace");
    using Svc = svcres::Service<svcres::RoundRobin>;
    auto svc = std::make_unique<Svc>(conf_, "user-service.local");
    for (int i = 0; i < 6; ++i) {
      auto l = svc->pick();
      if (l.ok()) l->complete(svcres::TryOutcome::success());
    }
    const std::size_t n_before = svc->snapshot().size();
    Task* gone = task(22);
    gone->registered = false;  // deregister (ECS stopped the task); then stop its server
    Zone z;
    bool ok = load_zone(z);
    if (ok) dns_->set_zone(std::move(z));
    const auto t_removed = Clock::now();
    std::size_t n_after = n_before;
    while (ok && seconds_since(t_removed) < 5.0) {
      auto l = svc->pick();  // pull-driven: the pick that finds the TTL passed refreshes
      if (l.ok()) l->complete(svcres::TryOutcome::success());
      n_after = svc->snapshot().size();
      if (n_after == 2) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const double follow_s = seconds_since(t_removed);
    gone->server->stop();
    int to_gone = 0;
    for (int i = 0; i < 300; ++i) {
      auto l = svc->pick();
      if (!l.ok()) continue;
      if (l->endpoint().address == gone->server->endpoint().address) ++to_gone;
      l->complete(svcres::TryOutcome::success());
    }
    ok = ok && n_before == 3 && n_after == 2 && to_gone == 0;
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "user-service task 127.0.6.22 deregistered: table followed in %.2f s (%zu -> %zu endpoints, TTL 1 s), "
                  "%d of 300 picks went to it",
                  follow_s, n_before, n_after, to_gone);
    line("follow", ok, buf);
  }

  void summary() {
    std::printf("\n%-10s %7s %7s %8s %10s %6s %9s %9s\n", "policy", "calls", "ok", "retries", "ejections", "tasks",
                "p50 ms", "p99 ms");
    for (const PolicyRow& r : rows_)
      std::printf("%-10s %7llu %7llu %8llu %10llu %6zu %9.2f %9.2f\n", r.policy.c_str(), r.calls, r.ok, r.retries,
                  r.ejections, r.tasks_served, r.p50_us / 1000.0, r.p99_us / 1000.0);
    std::string prom;
    svcres::metrics::append_prometheus(prom, "order-service.local", faults_metrics_);
    std::printf("\n# Prometheus metrics of the faults step\n%s", prom.c_str());
    std::string emf;
    svcres::metrics::EmfOptions eo;
    eo.discovery_name = "svcres-demo";
    eo.target_discovery_name = "order-service.local";
    svcres::metrics::append_emf(emf, eo, faults_metrics_, static_cast<std::int64_t>(std::time(nullptr)) * 1000);
    std::printf("\n# CloudWatch EMF line of the faults step\n%s\n", emf.c_str());
  }

  void stop_all() {
    if (dns_) dns_->stop();
    for (Task& t : tasks_) t.server->stop();
  }

  Clock::time_point t0_;
  int passed_ = 0, failed_ = 0;
  std::string start_error_;
  std::vector<Task> tasks_;
  std::unique_ptr<Responder> dns_;
  svcres::ResolvConf conf_;
  std::vector<PolicyRow> rows_;
  svcres::metrics::MetricsSnapshot last_metrics_, faults_metrics_;
  std::string last_service_;
};

}  // namespace demo_detail

inline int run_demo() {
  demo_detail::Demo d;
  return d.run();
}

}  // namespace svcres_cli
