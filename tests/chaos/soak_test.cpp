// Soak: Services under a lossy, duplicating, corrupting network while their zone changes.
//
// Two services, each behind its own chaos relay (tests/support/chaos_relay.hpp) with 30 % of replies
// lost, 10 % duplicated and 5 % corrupted (queries pass; TCP passes unchanged):
// - svc.soak., served by the `svcres serve` command (path from CMake) on 127.0.0.1:15351 from a zone
//   file this test writes; every few seconds the file is edited (endpoints added and removed, the
//   name turned into a CNAME to the SRV owner and back; TTL 1 s) and the server restarted on it;
// - user-service.local from NSD (ctest fixture dns_nsd), a set that never changes.
// Three Services resolve svc.soak. (more refreshes through the chaos), one user-service.local.
// Reader threads call Service::call() with a deadline in a loop, with a try function that only
// records the endpoint it was given. A sampler reads each Service's table every 20 ms.
// Checked: no call hangs (a watchdog ends the test if one runs for 15 s); no call returns later than
// its deadline plus `slack`; no endpoint of the current zone is missing from the set, and no endpoint
// of an earlier zone lingers in it, for longer than `convergence` after the zone took effect.
// Durations: 4 zone versions of ~11 s: ~45 s of chaos. Bounds are generous for a loaded 2-core machine (see below).

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chaos_relay.hpp"
#include "svcres/service.hpp"
#include "test.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

extern char** environ;

namespace {

#ifndef SVCRES_CLI_PATH
#error "SVCRES_CLI_PATH (the svcres command) must be defined by CMake"
#endif
constexpr std::uint16_t serve_port = 15351;  // outside tests/servers/ports.sh's assignments
constexpr std::uint16_t nsd_port = 15301;    // fixture dns_nsd

// Resolver: 200 ms per try, 4 tries (svcres doubles the wait per try: 0.2 + 0.4 + 0.8 + 1.6 s).
constexpr auto dns_timeout = 200ms;
constexpr unsigned dns_attempts = 4;
constexpr auto resolution_worst = 3000ms;
constexpr auto ttl = 1s;
constexpr auto retry_after_failure = 500ms;
// After a zone change the set must match within: the TTL (the old answer may be fresh), one failed
// refresh, the retry interval and one more refresh, plus 1.5 s for scheduling on a loaded machine.
// With 30 % of replies lost and 5 % corrupted a try fails with p ~ 0.34, a refresh (4 tries) with
// p ~ 0.013; two failures in a row (what exceeding the bound needs) p ~ 2e-4 per zone change.
constexpr auto convergence = ttl + resolution_worst + retry_after_failure + resolution_worst + 1500ms;
// Each call's deadline, and how late a return may be before it counts as an overrun: a refresh that
// a call runs itself and that loses two replies takes 0.6 s, so a library that lets a refresh
// outlive the caller's deadline overruns it in about one refresh in nine here.
constexpr auto call_budget = 100ms;
constexpr auto slack = 300ms;
constexpr auto hang = 15s;           // watchdog

using Svc = svcres::Service<svcres::RoundRobin>;

std::string key(const svcres::Endpoint& e) {
  return std::string(e.address.to_text().view()) + ":" + std::to_string(e.port);
}

// One version of the controlled zone: endpoints 127.0.7.(10+i):(8000+i) for i in [first, first+count).
struct ZoneVersion {
  int first = 0, count = 0;
  bool cname = false;  // svc.soak. is a CNAME to real.soak., which owns the SRV records
  std::set<std::string> endpoints() const {
    std::set<std::string> s;
    for (int i = first; i < first + count; ++i)
      s.insert("127.0.7." + std::to_string(10 + i) + ":" + std::to_string(8000 + i));
    return s;
  }
  std::string text() const {
    std::string z = "$ORIGIN soak.\n$TTL 1\n@ IN SOA ns.soak. host.soak. 1 60 60 60 1\n";
    const std::string owner = cname ? "real" : "svc";
    if (cname) z += "svc IN CNAME real.soak.\n";
    for (int i = first; i < first + count; ++i) {
      const std::string host = "t" + std::to_string(i) + ".hosts";
      z += owner + " IN SRV 1 1 " + std::to_string(8000 + i) + " " + host + "\n";
      z += host + " IN A 127.0.7." + std::to_string(10 + i) + "\n";
    }
    return z;
  }
};

// `svcres serve ZONEFILE --port 15351` as a child process; started() returns once it printed that
// it serves (it binds before printing), stop() ends it with SIGTERM.
class ServeProcess {
 public:
  std::string start(const std::string& zone_file) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return "pipe";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    const std::string port = std::to_string(serve_port);
    const char* argv[] = {SVCRES_CLI_PATH, "serve", zone_file.c_str(), "--port", port.c_str(), nullptr};
    const int rc = posix_spawn(&pid_, SVCRES_CLI_PATH, &fa, nullptr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      pid_ = -1;
      return std::string("spawn ") + SVCRES_CLI_PATH + ": " + std::strerror(rc);
    }
    std::string line;
    char ch;
    while (::read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;  // blocks until the first line or exit
    ::close(out[0]);  // later output goes to a closed pipe: the command ignores write errors
    if (line.rfind("serving", 0) != 0) {
      stop();
      return "svcres serve did not start: '" + line + "'";
    }
    return {};
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int st;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }
  ~ServeProcess() { stop(); }

 private:
  pid_t pid_ = -1;
};

// What one Service must show, and what it showed.
struct Watch {
  std::string name;
  Svc* svc = nullptr;
  std::mutex mu;
  std::set<std::string> current;        // endpoints of the zone in force
  Clock::time_point since{};            // when it took effect
  std::set<std::string> known;          // of every version so far
  std::map<std::string, Clock::time_point> missing_since, lingering_since;
  std::vector<std::string> violations;  // of the convergence bound, first few kept
  std::size_t violation_count = 0;
  std::uint64_t samples = 0, foreign_picks = 0, picks = 0;

  void set_zone(const std::set<std::string>& eps, Clock::time_point at) {
    std::lock_guard<std::mutex> lock(mu);
    current = eps;
    since = at;
    known.insert(eps.begin(), eps.end());
    missing_since.clear();
    lingering_since.clear();
  }

  void sample() {
    std::set<std::string> have;
    auto snap = svc->snapshot();
    for (std::size_t i = 0; i < snap.size(); ++i) have.insert(key(snap.endpoint(i)));
    if (!snap.valid()) return;  // rewritten while read: take the next sample
    const auto now = Clock::now();
    std::lock_guard<std::mutex> lock(mu);
    ++samples;
    auto check = [&](std::map<std::string, Clock::time_point>& since_map, const std::string& e, bool bad,
                     const char* what) {
      if (!bad) {
        since_map.erase(e);
        return;
      }
      const auto start = std::max(since, since_map.emplace(e, now).first->second);
      if (now - start > convergence) {
        ++violation_count;
        if (violations.size() < 5)
          violations.push_back(name + ": " + e + " " + what + " for " +
                               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count()) +
                               " ms after the zone changed");
        since_map[e] = now;  // count again only after another whole bound
      }
    };
    for (const std::string& e : current) check(missing_since, e, have.count(e) == 0, "missing");
    for (const std::string& e : have) check(lingering_since, e, current.count(e) == 0, "still present");
  }

  void picked(const svcres::Endpoint& e) {
    std::lock_guard<std::mutex> lock(mu);
    ++picks;
    if (known.count(key(e)) == 0) ++foreign_picks;  // e.g. an address changed by a corrupted reply
  }
};

struct CallStats {
  std::atomic<std::uint64_t> calls{0}, ok{0}, overruns{0};
  std::atomic<std::int64_t> worst_overrun_ms{0};
  std::mutex mu;
  std::map<std::string, int> errors;
};

svcres::ResolvConf conf_for(std::uint16_t port) {
  svcres::ResolvConf c;
  REQUIRE(c.add_nameserver(svcres::NameServer{svcres::IpAddress::v4(127, 0, 0, 1), port}).ok());
  c.timeout = dns_timeout;
  c.attempts = dns_attempts;
  return c;
}

svcres_test::ChaosConfig chaos_to(std::uint16_t upstream, std::uint64_t seed) {
  svcres_test::ChaosConfig c;
  c.upstream_port = upstream;
  c.seed = seed;
  c.to_client.drop = 0.3;
  c.to_client.duplicate = 0.1;
  c.to_client.corrupt = 0.05;
  return c;
}

}  // namespace

TEST_CASE("soak: Services under loss, duplicates and corruption while the zone changes") {
  char dir_template[] = "/tmp/svcres-soak-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::string zone_file = std::string(dir_template) + "/soak.zone";
  auto write_zone = [&](const ZoneVersion& v) {
    const std::string tmp = zone_file + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    REQUIRE(f);
    std::fputs(v.text().c_str(), f);
    std::fclose(f);
    REQUIRE(std::rename(tmp.c_str(), zone_file.c_str()) == 0);
  };

  // The zone's versions: sliding windows of endpoints, the name as a CNAME every other time.
  const ZoneVersion versions[] = {{0, 3, false}, {1, 4, true}, {3, 2, false}, {2, 6, true}};
  const auto version_life = convergence + 1s;  // the bound can only be exceeded within a version's life
  static_assert(convergence + 1s < 11s, "4 versions must fit the test's minute");

  ServeProcess serve;
  write_zone(versions[0]);
  std::string err = serve.start(zone_file);
  REQUIRE(err.empty());

  svcres_test::ChaosRelay relay_serve(chaos_to(serve_port, 11)), relay_nsd(chaos_to(nsd_port, 12));
  REQUIRE(relay_serve.start().empty());
  REQUIRE(relay_nsd.start().empty());

  svcres::ServiceOptions so;
  so.max_refresh = 2s;  // a corrupted TTL must not freeze the set for max_refresh (300 s by default)
  so.retry_after_failure = retry_after_failure;
  // Three independent Services (each its own resolver and table) on the changing zone: more
  // refreshes through the chaos per second of test; one on NSD's fixed set.
  constexpr int n_soak = 3;
  std::vector<std::unique_ptr<Svc>> services;
  std::vector<std::unique_ptr<Watch>> watches;
  for (int i = 0; i <= n_soak; ++i) {
    const bool nsd = i == n_soak;
    services.push_back(std::make_unique<Svc>(conf_for(nsd ? relay_nsd.port() : relay_serve.port()),
                                             nsd ? "user-service.local." : "svc.soak.", so));
    watches.push_back(std::make_unique<Watch>());
    watches.back()->name = nsd ? "user-service.local." : "svc.soak. #" + std::to_string(i);
    watches.back()->svc = services.back().get();
    watches.back()->set_zone(nsd ? std::set<std::string>{"127.0.2.10:8080", "127.0.2.11:8080", "127.0.2.12:8080"}
                                 : versions[0].endpoints(),
                             Clock::now());
  }

  // The first set, before any reader starts (a refresh through 30 % loss may need a few rounds).
  for (auto& w : watches) {
    bool ok = false;
    for (int i = 0; i < 20 && !ok; ++i) ok = w->svc->refresh().ok();
    REQUIRE(ok);
  }

  std::atomic<bool> stop{false}, hung{false};
  CallStats stats;
  constexpr int readers_per_service = 2;
  const int n_readers = readers_per_service * (n_soak + 1);
  // Per reader: when its current call started (ns since epoch of Clock), 0 when not in a call.
  std::unique_ptr<std::atomic<std::int64_t>[]> in_call(new std::atomic<std::int64_t>[n_readers]);
  for (int i = 0; i < n_readers; ++i) in_call[i] = 0;

  std::vector<std::thread> readers;
  for (int r = 0; r < n_readers; ++r) {
    Watch& w = *watches[static_cast<std::size_t>(r / readers_per_service)];
    readers.emplace_back([&, r] {
      svcres::RetryPolicy rp;
      rp.timeout = call_budget;
      while (!stop.load()) {
        const auto t0 = Clock::now();
        const auto deadline = t0 + call_budget;
        in_call[r] = t0.time_since_epoch().count();
        const svcres::CallResult res = w.svc->call(
            [&](const svcres::Endpoint& ep, svcres::TimePoint) {
              w.picked(ep);
              return svcres::TryOutcome::success();
            },
            rp, deadline);
        const auto t1 = Clock::now();
        in_call[r] = 0;
        ++stats.calls;
        if (res.ok()) {
          ++stats.ok;
        } else {
          std::lock_guard<std::mutex> lock(stats.mu);
          ++stats.errors[svcres::to_string(res.error)];
        }
        if (t1 > deadline + slack) {
          ++stats.overruns;
          const auto late = std::chrono::duration_cast<std::chrono::milliseconds>(t1 - deadline).count();
          std::int64_t worst = stats.worst_overrun_ms.load();
          while (late > worst && !stats.worst_overrun_ms.compare_exchange_weak(worst, late)) {
          }
        }
        std::this_thread::sleep_for(2ms);  // two cores are shared: readers need not spin
      }
    });
  }

  // Sampler and watchdog: every 20 ms, each table is checked and each reader's call age.
  std::thread sampler([&] {
    while (!stop.load()) {
      for (auto& w : watches) w->sample();
      const auto now = Clock::now().time_since_epoch().count();
      for (int r = 0; r < n_readers; ++r) {
        const std::int64_t started = in_call[r].load();
        if (started != 0 && now - started > std::chrono::duration_cast<Clock::duration>(hang).count()) hung = true;
      }
      if (hung) {
        std::fprintf(stderr, "soak: a call has run for more than %lld s: hang\n",
                     static_cast<long long>(std::chrono::seconds(hang).count()));
        std::fflush(stderr);
        std::_Exit(1);  // the hung thread cannot be joined; fail the test now rather than by timeout
      }
      std::this_thread::sleep_for(20ms);
    }
  });

  // The zone changes: write, restart the server on it, and only then does the new version count.
  for (std::size_t v = 1; v < std::size(versions); ++v) {
    std::this_thread::sleep_for(version_life);
    write_zone(versions[v]);
    serve.stop();
    err = serve.start(zone_file);
    REQUIRE(err.empty());
    const auto now = Clock::now();
    for (int i = 0; i < n_soak; ++i) watches[static_cast<std::size_t>(i)]->set_zone(versions[v].endpoints(), now);
  }
  std::this_thread::sleep_for(version_life);
  stop = true;
  for (auto& t : readers) t.join();
  sampler.join();
  serve.stop();

  const auto cs = relay_serve.counters(), cn = relay_nsd.counters();
  std::printf("soak: %llu calls, %llu ok, %llu overran deadline + %lld ms (worst %lld ms late)\n",
              static_cast<unsigned long long>(stats.calls.load()), static_cast<unsigned long long>(stats.ok.load()),
              static_cast<unsigned long long>(stats.overruns.load()), static_cast<long long>(slack.count()),
              static_cast<long long>(stats.worst_overrun_ms.load()));
  for (const auto& e : stats.errors) std::printf("  call error %s: %d\n", e.first.c_str(), e.second);
  for (auto& wp : watches) {
    Watch& w = *wp;
    std::printf("  %s: %llu samples, %llu picks (%llu not in any zone version), %zu convergence violations, "
                "%llu refreshes, last resolution %s\n",
                w.name.c_str(), static_cast<unsigned long long>(w.samples), static_cast<unsigned long long>(w.picks),
                static_cast<unsigned long long>(w.foreign_picks), w.violation_count,
                static_cast<unsigned long long>(w.svc->refreshes()), svcres::to_string(w.svc->last_resolution()));
  }
  std::printf("relay svcres serve:\n%s\nrelay NSD:\n%s\n", cs.to_text().c_str(), cn.to_text().c_str());
  std::fflush(stdout);

  // The chaos happened (the relays dropped, duplicated and corrupted replies to both services).
  CHECK(cs.to_client.dropped > 0);
  CHECK(cs.to_client.corrupted > 0);
  CHECK(cs.to_client.duplicated > 0);
  CHECK(cn.to_client.dropped > 0);

  // Readers kept being served.
  CHECK(stats.ok.load() > stats.calls.load() / 2);
  for (auto& wp : watches) {
    Watch& w = *wp;
    INFO(w.name);
    CHECK(w.svc->refreshes() > 2 * std::size(versions));
    CHECK(w.samples > 500);
    std::string first_violations;
    for (const std::string& v : w.violations) first_violations += v + "; ";
    INFO(first_violations);
    CHECK(w.violation_count == 0);
  }
  CHECK(stats.overruns.load() == 0);
  std::remove(zone_file.c_str());
  ::rmdir(dir_template);
}
