// Resolution under packet loss: svcres, c-ares and glibc resolve the same SRV names of local.zone
// through the chaos relay (tests/support/chaos_relay.hpp) in front of a real NSD, at several loss
// rates, each lookup with a 2 s budget. scripts/bench/chaos.sh runs it; see there for the setup.
//
//   bench_chaos --upstream NSD_PORT --resolv-conf FILE [--listen PORT] [--lookups N] [--workers K]
//               [--losses 0,10,30,50] [--seed S]
//
// Same options for all three: each reads the resolver options from FILE (svcres: ResolvConf::load;
// c-ares: ARES_OPT_RESOLVCONF; glibc: res_ninit, which reads /etc/resolv.conf: chaos.sh bind-mounts
// FILE there inside a private mount and network namespace). Only the server port can differ: when
// --listen is not 53 (no namespace), each library is pointed at 127.0.0.1:PORT in code, glibc by
// overwriting res_state.nsaddr_list after res_ninit and before any query. EDNS with a 1232-byte
// payload everywhere (glibc: `options edns0`, its 1200 bytes). Caches: svcres's off; the others
// have none. Search lists: none (absolute names, res_nquery, ares_query).
//
// The budget is enforced from the outside the way each API allows: svcres gets it as
// LookupFlags::deadline; c-ares's event loop (ours) calls ares_cancel() at the budget; glibc's
// res_nquery cannot be interrupted, so its own schedule must fit. Per lookup we record whether a
// complete answer arrived within the budget, when the call returned, and (at the relay, per library
// run) the queries sent. overrun = the call returned more than `slack` after the budget.
//
// svcres runs twice: "svcres" as glibc schedules, "svcres_rtx" with adaptive_retransmit on.
//
// Lookups run in K worker threads (each with its own resolver, channel or res_state, so nothing is
// shared or coalesced between lookups); the relay, seeded the same for every library, decides the
// fate of each packet by its arrival order (K > 1 makes that order vary a little between runs).
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/resource.h>
#include <sys/select.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../support/ares_srv.hpp"
#include "chaos_relay.hpp"
#include "svcres/net/posix_transport.hpp"
#include "svcres/resolve/resolver.hpp"

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto budget = 2000ms;
constexpr auto slack = 50ms;

struct Target {
  const char* name;
  int srv;  // SRV records (svcres: endpoints, one address per target) in a complete answer
};
// Plain SRV with additional addresses (3 and 10 targets), a CNAME to SRV and a two-link chain.
// c-ares and glibc stop at the SRV records; svcres also maps every target to its address, which for
// order-service.local takes a second query: NSD leaves one target's A out of the additional
// section of its 1232-byte answer.
const Target targets[] = {
    {"user-service.local", 3}, {"order-service.local", 10}, {"users.local", 3}, {"chain-1.local", 3}};

struct Outcome {
  bool ok = false;       // complete answer within the budget
  double ms = 0;         // until the call returned
};

struct Settings {
  int upstream = 0, listen = 53, lookups = 160, workers = 8;
  std::uint64_t seed = 2026;
  std::string conf_path;
  std::vector<int> losses{0, 10, 30, 50};
};

using SvcresResolver = svcres::Resolver<svcres::PosixTransport>;

// ---- svcres; svcres_rtx: the same with ResolverOptions::adaptive_retransmit (RTT-based copies
// inside each glibc try window)
template <bool Adaptive>
struct SvcresWorkerT {
  std::unique_ptr<SvcresResolver> r;
  std::vector<svcres::dns::Name> names;
  SvcresWorkerT(const Settings& s) {
    svcres::ResolvConf conf = svcres::ResolvConf::load(s.conf_path.c_str()).value();
    if (s.listen != 53) {
      conf.nameservers.clear();
      (void)conf.add_nameserver(svcres::NameServer{svcres::IpAddress::v4(127, 0, 0, 1),
                                                   static_cast<std::uint16_t>(s.listen)});
    }
    svcres::ResolverOptions o;
    o.cache = false;
    o.adaptive_retransmit = Adaptive;
    r = std::make_unique<SvcresResolver>(conf, o);
    for (const Target& t : targets) names.push_back(svcres::dns::Name::from_text(std::string(t.name) + ".").value());
  }
  Outcome one(std::size_t i) {
    const auto t0 = Clock::now();
    svcres::LookupFlags f;
    f.deadline = t0 + budget;
    const auto a = r->resolve(names[i], svcres::dns::Type::SRV, f);
    const auto t1 = Clock::now();
    Outcome o;
    o.ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    o.ok = a.ok() && static_cast<int>(a.endpoints.size()) == targets[i].srv && t1 - t0 <= budget;
    return o;
  }
};

using SvcresWorker = SvcresWorkerT<false>;
using SvcresRtxWorker = SvcresWorkerT<true>;
template <class W>
inline constexpr bool is_svcres_v = std::is_same_v<W, SvcresWorker> || std::is_same_v<W, SvcresRtxWorker>;

// ---- c-ares
using svcres_bench::AresDone;
struct AresWorker {
  ares_channel ch = nullptr;
  bool ready = false;
  int applied_timeout_ms = 0, applied_tries = 0;
  AresWorker(const Settings& s) {
    ares_options opts{};
    opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS;
    opts.ednspsz = svcres::dns::default_edns_payload;
    opts.resolvconf_path = const_cast<char*>(s.conf_path.c_str());
    // c-ares 1.18 takes the servers from the file but not its `options` line (ares_save_options
    // still says 5000 ms and 4 tries afterwards): the same values go in through the API.
    const svcres::ResolvConf file = svcres::ResolvConf::load(s.conf_path.c_str()).value();
    opts.timeout = static_cast<int>(file.timeout.count());
    opts.tries = static_cast<int>(file.attempts);
    if (ares_init_options(&ch, &opts,
                          ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ | ARES_OPT_RESOLVCONF | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) !=
        ARES_SUCCESS)
      return;
    ares_options saved{};
    int mask = 0;
    if (ares_save_options(ch, &saved, &mask) == ARES_SUCCESS) {
      applied_timeout_ms = saved.timeout;
      applied_tries = saved.tries;
      ares_destroy_options(&saved);
    }
    if (s.listen != 53) {
      const std::string server = "127.0.0.1:" + std::to_string(s.listen);
      if (ares_set_servers_ports_csv(ch, server.c_str()) != ARES_SUCCESS) return;
    }
    ready = true;
  }
  ~AresWorker() {
    if (ch) ares_destroy(ch);
  }
  Outcome one(std::size_t i) {
    const auto t0 = Clock::now();
    const auto end = t0 + budget;
    AresDone d;
    ares_query(ch, targets[i].name, ns_c_in, ns_t_srv, svcres_bench::ares_srv_done, &d);
    while (!d.done) {
      const auto now = Clock::now();
      if (now >= end) {
        ares_cancel(ch);  // the caller's budget: the callback runs with ARES_ECANCELLED
        break;
      }
      fd_set rd, wr;
      FD_ZERO(&rd);
      FD_ZERO(&wr);
      const int nfds = ares_fds(ch, &rd, &wr);
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(end - now).count();
      timeval max{static_cast<time_t>(left / 1000000), static_cast<suseconds_t>(left % 1000000)}, tv{};
      timeval* tvp = ares_timeout(ch, &max, &tv);
      select(nfds, &rd, &wr, nullptr, tvp);
      ares_process(ch, &rd, &wr);
    }
    const auto t1 = Clock::now();
    Outcome o;
    o.ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    o.ok = d.srv == targets[i].srv && t1 - t0 <= budget;
    return o;
  }
};

// ---- glibc
struct GlibcWorker {
  struct __res_state st {};
  bool ready = false;
  bool overridden = false;
  GlibcWorker(const Settings& s) {
    if (res_ninit(&st) != 0) return;
    const bool from_file = st.nscount == 1 && st.nsaddr_list[0].sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
                           ntohs(st.nsaddr_list[0].sin_port) == s.listen;
    if (!from_file) {
      // No namespace: keep res_ninit's options but talk only to the relay, before any query.
      st.nscount = 1;
      st.nsaddr_list[0].sin_family = AF_INET;
      st.nsaddr_list[0].sin_port = htons(static_cast<std::uint16_t>(s.listen));
      st.nsaddr_list[0].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      overridden = true;
    }
    ready = true;
  }
  ~GlibcWorker() { res_nclose(&st); }
  Outcome one(std::size_t i) {
    const auto t0 = Clock::now();
    unsigned char buf[8192];
    const int n = res_nquery(&st, targets[i].name, ns_c_in, ns_t_srv, buf, sizeof buf);
    int count = 0;
    ns_msg msg;
    if (n > 0 && ns_initparse(buf, n, &msg) == 0) {
      for (int k = 0; k < ns_msg_count(msg, ns_s_an); ++k) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, k, &rr) == 0 && ns_rr_type(rr) == ns_t_srv) ++count;
      }
    }
    const auto t1 = Clock::now();
    Outcome o;
    o.ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    o.ok = count == targets[i].srv && t1 - t0 <= budget;
    return o;
  }
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

template <class Worker>
void run(const char* impl, int loss, const Settings& s) {
  svcres_test::ChaosConfig c;
  c.listen_port = static_cast<std::uint16_t>(s.listen);
  c.upstream_port = static_cast<std::uint16_t>(s.upstream);
  c.seed = s.seed + static_cast<std::uint64_t>(loss);
  c.flow_idle = 5s;
  for (svcres_test::ChaosRates* r : {&c.to_server, &c.to_client}) {
    r->drop = loss / 100.0;
    r->duplicate = 0.05;
    r->reorder = 0.05;
  }
  svcres_test::ChaosRelay relay(c);
  if (std::string e = relay.start(); !e.empty()) {
    std::fprintf(stderr, "relay: %s\n", e.c_str());
    std::exit(1);
  }
  std::vector<Outcome> out(static_cast<std::size_t>(s.lookups));
  std::atomic<int> next{0};
  std::atomic<bool> overridden{false}, broken{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < s.workers; ++w) {
    threads.emplace_back([&, w] {
      Worker worker(s);
      if constexpr (!is_svcres_v<Worker>) {
        if (!worker.ready) {
          broken = true;
          return;
        }
      }
      if constexpr (std::is_same_v<Worker, GlibcWorker>) {
        if (worker.overridden) overridden = true;
        if (w == 0 && loss == s.losses.front())
          std::printf("  glibc options after res_ninit: retrans %d s, retry %d, nscount %d, edns0 %s\n",
                      worker.st.retrans, worker.st.retry, worker.st.nscount,
                      (worker.st.options & RES_USE_EDNS0) ? "on" : "off");
      }
      if constexpr (std::is_same_v<Worker, AresWorker>) {
        if (w == 0 && loss == s.losses.front())
          std::printf("  c-ares options applied: timeout %d ms, tries %d\n", worker.applied_timeout_ms,
                      worker.applied_tries);
      }
      if constexpr (is_svcres_v<Worker>) {
        if (w == 0 && loss == s.losses.front())
          std::printf("  %s options: timeout %lld ms, attempts %u, adaptive_retransmit %s (min_rto %lld ms)\n", impl,
                      static_cast<long long>(worker.r->conf().timeout.count()), worker.r->conf().attempts,
                      worker.r->options().adaptive_retransmit ? "on" : "off",
                      static_cast<long long>(worker.r->options().min_rto.count()));
      }
      for (int i; (i = next.fetch_add(1)) < s.lookups;)
        out[static_cast<std::size_t>(i)] = worker.one(static_cast<std::size_t>(i) % std::size(targets));
    });
  }
  for (auto& t : threads) t.join();
  std::this_thread::sleep_for(100ms);  // late duplicates and held packets, counted with this run
  relay.stop();
  if (broken) {
    std::fprintf(stderr, "%s: could not be initialised\n", impl);
    std::exit(1);
  }
  const auto cnt = relay.counters();
  int ok = 0, overruns = 0;
  double max_ms = 0;
  std::vector<double> ok_ms;
  for (const Outcome& o : out) {
    if (o.ok) {
      ++ok;
      ok_ms.push_back(o.ms);
    }
    if (o.ms > std::chrono::duration<double, std::milli>(budget + slack).count()) ++overruns;
    max_ms = std::max(max_ms, o.ms);
  }
  std::printf("  %-10s loss %2d%%: %d/%d answered within %lld ms; longest call %.0f ms; relay: %s\n", impl, loss, ok,
              s.lookups, static_cast<long long>(budget.count()), max_ms,
              ("queries " + std::to_string(cnt.to_server.received) + " (" + std::to_string(cnt.to_server.dropped) +
               " dropped), replies " + std::to_string(cnt.to_client.received) + " (" +
               std::to_string(cnt.to_client.dropped) + " dropped), tcp " + std::to_string(cnt.tcp_connections))
                  .c_str());
  std::printf("         per name (answered in time / lookups):");
  for (std::size_t t = 0; t < std::size(targets); ++t) {
    int good = 0, all = 0;
    for (std::size_t i = t; i < out.size(); i += std::size(targets)) {
      ++all;
      good += out[i].ok ? 1 : 0;
    }
    std::printf(" %s %d/%d", targets[t].name, good, all);
  }
  std::printf("\n");
  if (overridden) std::printf("  glibc: server list overridden after res_ninit (no namespace)\n");
  std::printf("RESULT chaos loss=%d impl=%s success=%.3f p50_ms=%.2f p99_ms=%.2f packets_per_lookup=%.2f overruns=%d\n",
              loss, impl, ok / static_cast<double>(s.lookups), percentile(ok_ms, 0.5), percentile(ok_ms, 0.99),
              static_cast<double>(cnt.to_server.received) / s.lookups, overruns);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--upstream") s.upstream = std::atoi(v.c_str());
    else if (a == "--listen") s.listen = std::atoi(v.c_str());
    else if (a == "--lookups") s.lookups = std::atoi(v.c_str());
    else if (a == "--workers") s.workers = std::atoi(v.c_str());
    else if (a == "--seed") s.seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--resolv-conf") s.conf_path = v;
    else if (a == "--losses") {
      s.losses.clear();
      for (const char* p = v.c_str(); *p;) {
        s.losses.push_back(std::atoi(p));
        while (*p && *p != ',') ++p;
        if (*p) ++p;
      }
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (s.upstream == 0 || s.conf_path.empty() || s.lookups <= 0 || s.workers <= 0) {
    std::fprintf(stderr, "usage: %s --upstream NSD_PORT --resolv-conf FILE [--listen PORT] [--lookups N] "
                         "[--workers K] [--losses 0,10,30,50] [--seed S]\n", argv[0]);
    return 2;
  }
  if (!svcres::ResolvConf::load(s.conf_path.c_str()).ok()) {
    std::fprintf(stderr, "cannot read %s\n", s.conf_path.c_str());
    return 2;
  }
  // The relay holds a socket per client port for a few seconds, and svcres uses a port per query.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &files);
  }
  ares_library_init(ARES_LIB_INIT_ALL);
  std::printf("chaos: %d lookups per library and loss rate in %d workers, budget %lld ms (overrun: returned "
              "> %lld ms after it); loss each way plus 5%% duplicates and 5%% reordering each way; relay on "
              "127.0.0.1:%d -> NSD 127.0.0.1:%d\n",
              s.lookups, s.workers, static_cast<long long>(budget.count()), static_cast<long long>(slack.count()),
              s.listen, s.upstream);
  std::fflush(stdout);
  for (int loss : s.losses) {
    run<SvcresWorker>("svcres", loss, s);
    run<SvcresRtxWorker>("svcres_rtx", loss, s);
    run<AresWorker>("cares", loss, s);
    run<GlibcWorker>("glibc", loss, s);
  }
  ares_library_cleanup();
  return 0;
}
