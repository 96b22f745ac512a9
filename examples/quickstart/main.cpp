// The smallest useful svcres program: find the tasks of an ECS service through DNS and balance
// requests over them (least request, power of two choices), reporting how each request went.
//
//   quickstart [NAME] [DNS_SERVER:PORT]      default: user-service.local, /etc/resolv.conf
#include <cstdio>
#include <svcres/svcres.hpp>

int main(int argc, char** argv) {
  const char* name = argc > 1 ? argv[1] : "user-service.local";
  // The system's resolver configuration, or only the server given on the command line.
  svcres::ResolvConf conf = svcres::ResolvConf::parse("");
  if (argc <= 2) conf = svcres::ResolvConf::load().value_or(conf);
  if (argc > 2 && !conf.add_nameserver(argv[2]).ok()) return std::fprintf(stderr, "bad server %s\n", argv[2]), 2;

  // Static storage: the service holds its endpoint table and the resolver's cache inline.
  static svcres::Service<svcres::LeastRequest> users(conf, name);

  for (int i = 0; i < 6; ++i) {
    auto lease = users.pick();  // resolves on first use and whenever the TTL runs out
    if (!lease) return std::fprintf(stderr, "%s: %s\n", name, svcres::to_string(lease.error())), 1;
    std::printf("request %d -> %s\n", i, svcres::to_text(lease->endpoint()).c_str());
    // ... send the request to lease->endpoint() here ...
    lease->complete(svcres::TryOutcome::http(200));  // feeds in-flight counts, latency, ejection
  }
  auto m = users.metrics_snapshot();
  std::printf("%llu requests, %lld endpoints, %llu DNS packets\n", static_cast<unsigned long long>(m.requests),
              static_cast<long long>(m.endpoints_known), static_cast<unsigned long long>(m.dns_packets_sent));
}
