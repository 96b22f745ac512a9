// Resolver throughput against a real NSD on loopback (port in argv[1]), next to c-ares and glibc's
// res_nquery in the same run. Sequential queries, caches off (svcres: ResolverOptions::cache =
// false; c-ares 1.18 has no cache; glibc has none), SRV user-service.local (3 records with
// additional addresses), each side reading every SRV record's priority, weight, port and target
// (svcres also checks ID and question, parses and validates the whole message and maps the
// targets' addresses). All three send the same query: EDNS with a 1232-byte payload (glibc's own
// EDNS size, 1200). svcres sends every query from a fresh kernel-chosen source port (RFC 5452 §10);
// glibc opens a socket per query; so does c-ares 1.18 here (without ARES_FLAG_STAYOPEN it closes a
// server's socket once no query is outstanding: strace in resolve.sh shows socket + close per query).
// The machine is shared, so the three are measured in interleaved rounds (the order rotating each
// round) and each reports its median round; the ratio is the median of the per-round ratios.
// Then a cache hit and a TC -> TCP resolution (batch-worker.local, 40 tasks). Prints one RESULT
// line; cpu_us / cares_cpu_us / glibc_cpu_us are each side's thread CPU time (user + system) per
// uncached query, median over the rounds. `bench_resolve PORT --hits N` only warms the cache and
// runs N hits: resolve.sh runs it under callgrind for the instructions per hit. `bench_resolve PORT
// --only svcres|cares|glibc N` sets everything up, then runs N uncached queries of that side only:
// resolve.sh runs it under `strace -c -f` for two values of N, so the system calls per query are
// the difference divided by the difference of N (set-up and warm-up cancel out).
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/select.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "../support/ares_srv.hpp"
#include "svcres/net/posix_transport.hpp"
#include "svcres/resolve/resolver.hpp"

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {
constexpr int rounds = 7;
constexpr auto slice = 300ms;  // per side and round

int failures = 0;  // operations that did not produce the expected answer, over all runs

double thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct Rate {
  double per_second = 0;
  double cpu_us = 0;  // this thread's CPU time (user + system) per operation: robust to other load
};

// Completed operations per second over `run_for` of wall time. A failed operation (a lost datagram
// on a loaded machine) is counted, not fatal; more than 1% makes the number void (0).
Rate per_second(const char* what, const std::function<bool()>& one, Clock::duration run_for) {
  long n = 0, bad = 0;
  const double c0 = thread_cpu_ns();
  const auto t0 = Clock::now();
  auto t = t0;
  while (t - t0 < run_for) {
    for (int i = 0; i < 64; ++i)
      if (one()) ++n;
      else ++bad;
    t = Clock::now();
  }
  if (bad > (n + bad) / 100) {
    std::fprintf(stderr, "%s: %ld of %ld operations failed\n", what, bad, n + bad);
    return {};
  }
  failures += static_cast<int>(bad);
  return {n / std::chrono::duration<double>(t - t0).count(), (thread_cpu_ns() - c0) / 1e3 / (n + bad)};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

using svcres_bench::AresDone;

using R = svcres::Resolver<svcres::PosixTransport>;

// The cache-hit loop: the same name from a warm cache into one caller-owned Answer.
std::size_t hit_loop(R& cached, const svcres::dns::Name& name, long hits) {
  static R::AnswerType hit;
  std::size_t sink = 0;
  for (long i = 0; i < hits; ++i) {
    cached.resolve_into(name, svcres::dns::Type::SRV, hit);
    sink += hit.endpoints.size();
  }
  return sink;
}
}  // namespace

int main(int argc, char** argv) {
  const bool only = argc == 5 && std::strcmp(argv[2], "--only") == 0;
  if (argc != 2 && !(argc == 4 && std::strcmp(argv[2], "--hits") == 0) && !only) {
    std::fprintf(stderr, "usage: %s NSD_PORT [--hits N | --only svcres|cares|glibc N]\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string server = "127.0.0.1:" + std::to_string(port);

  svcres::ResolvConf conf;
  if (!conf.add_nameserver(server).ok()) return 2;
  conf.timeout = 2000ms;
  const auto user = svcres::dns::Name::from_text("user-service.local.").value();

  static R cached(conf);
  if (!cached.resolve(user, svcres::dns::Type::SRV).ok()) return 1;
  if (argc == 4) {
    const long hits = std::atol(argv[3]);
    return hit_loop(cached, user, hits) == 3u * static_cast<std::size_t>(hits) ? 0 : 1;
  }

  // svcres, cache off.
  svcres::ResolverOptions nocache;
  nocache.cache = false;
  static R r(conf, nocache);
  auto svcres_one = [&] {
    auto a = r.resolve(user, svcres::dns::Type::SRV);
    return a.ok() && a.endpoints.size() == 3;
  };

  // c-ares: one channel, sequential ares_query + ares_parse_srv_reply.
  ares_library_init(ARES_LIB_INIT_ALL);
  ares_channel ch;
  ares_options opts{};
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS;
  opts.timeout = 2000;
  opts.tries = 1;
  opts.ednspsz = svcres::dns::default_edns_payload;
  if (ares_init_options(&ch, &opts, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_EDNSPSZ) !=
      ARES_SUCCESS)
    return 1;
  if (ares_set_servers_ports_csv(ch, server.c_str()) != ARES_SUCCESS) return 1;
  auto cares_one = [&] {
    AresDone d;
    ares_query(ch, "user-service.local", ns_c_in, ns_t_srv, svcres_bench::ares_srv_done, &d);
    while (!d.done) {
      fd_set rd, wr;
      FD_ZERO(&rd);
      FD_ZERO(&wr);
      int nfds = ares_fds(ch, &rd, &wr);
      timeval tv{}, *tvp = ares_timeout(ch, nullptr, &tv);
      select(nfds, &rd, &wr, nullptr, tvp);
      ares_process(ch, &rd, &wr);
    }
    if (d.srv != 3 && failures == 0) std::fprintf(stderr, "c-ares: %d SRV records\n", d.srv);
    return d.srv == 3;
  };

  // glibc: res_nquery + ns_initparse / ns_parserr.
  struct __res_state st {};
  if (res_ninit(&st) != 0) return 1;
  st.nscount = 1;
  st.nsaddr_list[0].sin_family = AF_INET;
  st.nsaddr_list[0].sin_port = htons(static_cast<std::uint16_t>(port));
  st.nsaddr_list[0].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  st.retrans = 2;
  st.retry = 1;
  st.options |= RES_USE_EDNS0;
  auto glibc_one = [&] {
    unsigned char buf[4096];
    int n = res_nquery(&st, "user-service.local", ns_c_in, ns_t_srv, buf, sizeof buf);
    if (n < 0) return false;
    ns_msg msg;
    if (ns_initparse(buf, n, &msg) != 0) return false;
    int count = 0;
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
      ns_rr rr;
      if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_srv || ns_rr_rdlen(rr) < 7) continue;
      // The whole SRV rdata, as c-ares and svcres read it: priority, weight, port, target name.
      const unsigned char* rd = ns_rr_rdata(rr);
      const unsigned prio = ns_get16(rd), weight = ns_get16(rd + 2), srv_port = ns_get16(rd + 4);
      char target[NS_MAXDNAME];
      if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, target, sizeof target) < 0) continue;
      if (srv_port != 0 && prio + weight < 0x20000) ++count;
    }
    return count == 3;
  };

  struct Side {
    const char* name;
    std::function<bool()> one;
    std::vector<double> qps, cpu_us;
  };
  Side sides[3] = {{"svcres", svcres_one, {}, {}}, {"c-ares", cares_one, {}, {}}, {"glibc", glibc_one, {}, {}}};
  if (only) {
    const std::string which = argv[3];
    const long n = std::atol(argv[4]);
    const int k = which == "svcres" ? 0 : which == "cares" ? 1 : which == "glibc" ? 2 : -1;
    if (k < 0 || n <= 0) return 2;
    long bad = 0;
    for (long i = 0; i < n; ++i) bad += sides[k].one() ? 0 : 1;
    return bad > n / 100 ? 1 : 0;
  }
  for (Side& s : sides)
    for (int i = 0; i < 200; ++i) (void)s.one();  // warm up
  std::vector<double> ratios;
  for (int round = 0; round < rounds; ++round) {
    for (int k = 0; k < 3; ++k) {
      Side& s = sides[(round + k) % 3];
      const Rate rate = per_second(s.name, s.one, slice);
      s.qps.push_back(rate.per_second);
      s.cpu_us.push_back(rate.cpu_us);
    }
    const double c = sides[1].qps.back();
    ratios.push_back(c > 0 ? sides[0].qps.back() / c : 0);
  }
  ares_destroy(ch);
  res_nclose(&st);
  const double qps = median(sides[0].qps), cares_qps = median(sides[1].qps), glibc_qps = median(sides[2].qps);
  for (const Side& s : sides) {
    std::printf("%-7s q/s per round:", s.name);
    for (double q : s.qps) std::printf(" %.0f", q);
    std::printf("; CPU per query (median) %.2f us\n", median(s.cpu_us));
  }

  // Cache hit. Thread CPU time, not wall time: the loop never sleeps, and on a shared machine wall
  // time would count other processes' time slices.
  const long hits = 2000000;
  const double h0 = thread_cpu_ns();
  if (hit_loop(cached, user, hits) != 3u * hits) return 1;
  const double hit_ns = (thread_cpu_ns() - h0) / hits;

  // TC -> TCP: 40 SRV records do not fit 1232 bytes; UDP query, TC, TCP query.
  const auto batch = svcres::dns::Name::from_text("batch-worker.local.").value();
  const double tcp_per_s = per_second(
      "svcres tcp",
      [&] {
        auto a = r.resolve(batch, svcres::dns::Type::SRV);
        return a.ok() && a.endpoints.size() == 40;
      },
      2s).per_second;
  if (r.stats().tcp_fallbacks == 0) return 1;

  const double ratio = median(ratios);
  std::printf("svcres %.0f q/s, c-ares %.0f q/s (x%.2f, median of %d interleaved rounds), glibc %.0f q/s; cache hit "
              "%.1f ns; TC->TCP %.1f us\n",
              qps, cares_qps, ratio, rounds, glibc_qps, hit_ns, 1e6 / tcp_per_s);
  // The system-call counts come from resolve.sh (strace), which appends them to this line.
  std::printf("RESULT resolve qps=%.0f cares_qps=%.0f glibc_qps=%.0f cache_hit_ns=%.1f tcp_fallback_us=%.1f "
              "cares_ratio=%.2f cpu_us=%.2f cares_cpu_us=%.2f glibc_cpu_us=%.2f\n",
              qps, cares_qps, glibc_qps, hit_ns, 1e6 / tcp_per_s, ratio, median(sides[0].cpu_us),
              median(sides[1].cpu_us), median(sides[2].cpu_us));
  return 0;
}
