// Resolver throughput against a real NSD on loopback (port in argv[1]), next to c-ares and glibc's
// res_nquery in the same run. Sequential queries, caches off, SRV user-service.local (3 records
// with additional addresses), each side reading every SRV record's priority, weight, port and
// target (svcres also maps the targets' addresses). svcres opens a fresh socket per query (a new
// source port, RFC 5452 §10) as glibc does; c-ares 1.18 keeps one socket for all queries. Then a
// cache hit and a TC -> TCP resolution (batch-worker.local, 40 tasks). Prints one RESULT line.
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/select.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "svcres/net/posix_transport.hpp"
#include "svcres/resolve/resolver.hpp"

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {
constexpr auto run_for = 2s;

int failures = 0;  // operations that did not produce the expected answer, over all runs

template <class F>
double per_second(const char* what, F&& one) {
  // Warm up, then count completed operations in a fixed wall time. A failed operation (a lost
  // datagram on a loaded machine) is counted, not fatal; more than 1% makes the number void.
  for (int i = 0; i < 200; ++i) (void)one();
  long n = 0, bad = 0;
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
    return 0;
  }
  failures += static_cast<int>(bad);
  return n / std::chrono::duration<double>(t - t0).count();
}

struct AresDone {
  bool done = false;
  int srv = 0;
};

void ares_cb(void* arg, int status, int, unsigned char* abuf, int alen) {
  auto* d = static_cast<AresDone*>(arg);
  d->done = true;
  if (status != ARES_SUCCESS) return;
  ares_srv_reply* srv = nullptr;
  if (ares_parse_srv_reply(abuf, alen, &srv) == ARES_SUCCESS) {
    for (ares_srv_reply* p = srv; p; p = p->next) ++d->srv;
    ares_free_data(srv);
  }
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s NSD_PORT\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string server = "127.0.0.1:" + std::to_string(port);

  // svcres, cache off.
  svcres::ResolvConf conf;
  if (!conf.add_nameserver(server).ok()) return 2;
  conf.timeout = 2000ms;
  svcres::ResolverOptions nocache;
  nocache.cache = false;
  using R = svcres::Resolver<svcres::PosixTransport>;
  static R r(conf, nocache);
  const auto user = svcres::dns::Name::from_text("user-service.local.").value();
  const double qps = per_second("svcres", [&] {
    auto a = r.resolve(user, svcres::dns::Type::SRV);
    return a.ok() && a.endpoints.size() == 3;
  });

  // c-ares: one channel, sequential ares_query + ares_parse_srv_reply.
  ares_library_init(ARES_LIB_INIT_ALL);
  ares_channel ch;
  ares_options opts{};
  opts.flags = ARES_FLAG_NOSEARCH;
  opts.timeout = 2000;
  opts.tries = 1;
  if (ares_init_options(&ch, &opts, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) return 1;
  if (ares_set_servers_ports_csv(ch, server.c_str()) != ARES_SUCCESS) return 1;
  const double cares_qps = per_second("c-ares", [&] {
    AresDone d;
    ares_query(ch, "user-service.local", ns_c_in, ns_t_srv, ares_cb, &d);
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
  });
  ares_destroy(ch);

  // glibc: res_nquery + ns_initparse / ns_parserr.
  struct __res_state st {};
  if (res_ninit(&st) != 0) return 1;
  st.nscount = 1;
  st.nsaddr_list[0].sin_family = AF_INET;
  st.nsaddr_list[0].sin_port = htons(static_cast<std::uint16_t>(port));
  st.nsaddr_list[0].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  st.retrans = 2;
  st.retry = 1;
  const double glibc_qps = per_second("glibc", [&] {
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
  });
  res_nclose(&st);

  // Cache hit: the same name from a warm cache.
  static R cached(conf);
  (void)cached.resolve(user, svcres::dns::Type::SRV);
  const long hits = 2000000;
  std::size_t sink = 0;
  // Thread CPU time, not wall time: the loop never sleeps, and on a shared machine wall time would
  // count other processes' time slices.
  auto cpu_now = [] {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
  };
  const double h0 = cpu_now();
  static R::AnswerType hit;
  for (long i = 0; i < hits; ++i) {
    cached.resolve_into(user, svcres::dns::Type::SRV, hit);
    sink += hit.endpoints.size();
  }
  const double hit_ns = (cpu_now() - h0) / hits;
  if (sink != 3u * hits) return 1;

  // TC -> TCP: 40 SRV records do not fit 1232 bytes; UDP query, TC, TCP query.
  const auto batch = svcres::dns::Name::from_text("batch-worker.local.").value();
  const double tcp_per_s = per_second("svcres tcp", [&] {
    auto a = r.resolve(batch, svcres::dns::Type::SRV);
    return a.ok() && a.endpoints.size() == 40;
  });
  if (r.stats().tcp_fallbacks == 0) return 1;

  std::printf("svcres %.0f q/s, c-ares %.0f q/s (x%.2f), glibc %.0f q/s; cache hit %.1f ns; TC->TCP %.1f us\n", qps,
              cares_qps, cares_qps > 0 ? qps / cares_qps : 0, glibc_qps, hit_ns, 1e6 / tcp_per_s);
  std::printf("RESULT resolve qps=%.0f cares_qps=%.0f glibc_qps=%.0f cache_hit_ns=%.1f tcp_fallback_us=%.1f\n", qps,
              cares_qps, glibc_qps, hit_ns, 1e6 / tcp_per_s);
  return 0;
}
