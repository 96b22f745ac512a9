// Service::call() against real HTTP task servers on 127.0.5.x, discovered through a real DNS
// exchange with the svcres serve responder running in-process on 127.0.0.1 (SRV + additional A).

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/backend_server.hpp"
#include "svcres/http_try.hpp"
#include "svcres/responder.hpp"
#include "svcres/service.hpp"
#include "test.hpp"

using namespace std::chrono_literals;
using Backend = svcres_examples::BackendServer;
using svcres::Errc;

namespace {

struct Namespace {
  std::vector<std::unique_ptr<Backend>> tasks;
  std::unique_ptr<svcres_cli::Responder> dns;
  svcres::ResolvConf conf;
  std::vector<bool> registered;

  explicit Namespace(int n, svcres::Duration slow_delay = 300ms) {
    for (int i = 0; i < n; ++i) {
      auto b = std::make_unique<Backend>(
          svcres::Endpoint{svcres::IpAddress::v4(127, 0, 5, static_cast<std::uint8_t>(10 + i)), 0, 0, 1},
          Backend::Mode::healthy, slow_delay);
      REQUIRE(b->start().ok());
      tasks.push_back(std::move(b));
      registered.push_back(true);
    }
    dns = std::make_unique<svcres_cli::Responder>(zone(), svcres_cli::ResponderOptions{});
    REQUIRE(dns->start().empty());
    REQUIRE(conf.add_nameserver(svcres::NameServer{svcres::IpAddress::v4(127, 0, 0, 1), dns->port()}).ok());
    conf.timeout = 500ms;
  }

  svcres_cli::Zone zone() const {
    std::string z = "$ORIGIN test.\n$TTL 1\n@ IN SOA ns.test. host.test. 1 60 60 60 1\n";
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      if (!registered[i]) continue;
      const auto& e = tasks[i]->endpoint();
      const std::string host = "t" + std::to_string(i) + ".svc";
      z += "svc IN SRV 1 1 " + std::to_string(e.port) + " " + host + "\n";
      z += host + " IN A " + std::string(e.address.to_text().view()) + "\n";
    }
    svcres_cli::Zone out;
    svcres_cli::ZoneError err;
    REQUIRE(svcres_cli::parse_zone(z, "test.zone", "", out, err));
    return out;
  }
};

using Svc = svcres::Service<svcres::RoundRobin>;

svcres::TryOutcome get(const svcres::Endpoint& ep, svcres::TimePoint d) { return svcres_cli::http_try(ep, d); }

}  // namespace

TEST_CASE("a failing task is retried around and ejected") {
  Namespace ns(3);
  ns.tasks[1]->set_mode(Backend::Mode::failing);
  auto svc = std::make_unique<Svc>(ns.conf, "svc.test");
  int ok = 0;
  for (int i = 0; i < 90; ++i) ok += svc->call(get).ok() ? 1 : 0;
  CHECK(ok == 90);
  auto m = svc->metrics_snapshot();
  CHECK(m.ejections == 1);
  CHECK(m.retries == 5);  // the five 503s before ejection, each retried once on a healthy task
  CHECK(m.failures_of(svcres::metrics::FailureKind::http_5xx) == 5);
  CHECK(ns.tasks[1]->hits() == 5);
  CHECK(m.dns_resolutions >= 1);
  CHECK(m.endpoints_known == 3);
}

TEST_CASE("a hanging task costs one per-try timeout, then the retry answers") {
  Namespace ns(3);
  ns.tasks[2]->set_mode(Backend::Mode::slow);
  auto svc = std::make_unique<Svc>(ns.conf, "svc.test");
  svcres::RetryPolicy rp;
  rp.per_try_timeout = 60ms;
  rp.on_timeout = true;
  int ok = 0;
  for (int i = 0; i < 30; ++i) ok += svc->call(get, rp).ok() ? 1 : 0;
  CHECK(ok == 30);
  auto m = svc->metrics_snapshot();
  CHECK(m.failures_of(svcres::metrics::FailureKind::timeout) == 5);
  CHECK(m.ejections == 1);
}

TEST_CASE("a flapping task and a task whose server is gone") {
  Namespace ns(4);
  ns.tasks[3]->stop();  // still in DNS: connection refused
  auto svc = std::make_unique<Svc>(ns.conf, "svc.test");
  std::atomic<bool> stop{false};
  std::thread flap([&] {
    bool failing = false;
    while (!stop.load()) {
      ns.tasks[0]->set_mode(failing ? Backend::Mode::failing : Backend::Mode::healthy);
      failing = !failing;
      std::this_thread::sleep_for(3ms);
    }
  });
  int ok = 0;
  for (int i = 0; i < 200; ++i) ok += svc->call(get).ok() ? 1 : 0;
  stop.store(true);
  flap.join();
  CHECK(ok == 200);
  auto m = svc->metrics_snapshot();
  CHECK(m.failures_of(svcres::metrics::FailureKind::connect) >= 5);
  CHECK(m.retries >= 5);
  CHECK(m.ejections >= 1);
}

TEST_CASE("the caller's deadline bounds a call against hanging tasks") {
  Namespace ns(2, 3s);
  for (auto& t : ns.tasks) t->set_mode(Backend::Mode::slow);
  auto svc = std::make_unique<Svc>(ns.conf, "svc.test");
  REQUIRE(svc->refresh().ok());
  svcres::RetryPolicy rp;
  rp.on_timeout = true;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = svc->call(get, rp, t0 + 150ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK_FALSE(r.ok());
  CHECK((r.error == Errc::deadline_exceeded || r.error == Errc::try_failed));
  CHECK(r.outcome.kind == svcres::TryKind::timeout);
  CHECK(took >= 150ms);
  CHECK(took < 2s);  // bounded by the deadline, far from the 3 s the tasks take
}

TEST_CASE("a task removed from DNS leaves the table after the TTL") {
  Namespace ns(3);
  auto svc = std::make_unique<Svc>(ns.conf, "svc.test");
  REQUIRE(svc->call(get).ok());
  CHECK(svc->snapshot().size() == 3);
  ns.registered[0] = false;
  ns.dns->set_zone(ns.zone());
  const auto t0 = std::chrono::steady_clock::now();
  while (svc->snapshot().size() != 2 && std::chrono::steady_clock::now() - t0 < 5s) {
    (void)svc->call(get);
    std::this_thread::sleep_for(10ms);
  }
  REQUIRE(svc->snapshot().size() == 2);
  const std::size_t before = ns.tasks[0]->hits();
  for (int i = 0; i < 30; ++i) CHECK(svc->call(get).ok());
  CHECK(ns.tasks[0]->hits() == before);
}
