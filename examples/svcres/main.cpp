// svcres: the command-line face of the library.
//   svcres resolve NAME [@SERVER[:PORT]] [-t A|AAAA|SRV|...] [--tcp] [--noedns]
//   svcres pick NAME [-n N] [--policy rr|random|weighted|p2c|ewma|maglev] [@SERVER[:PORT]] [-t SRV|A|AAAA] [--port P]
//   svcres serve ZONEFILE [--port P] [--address A] [--multivalue N] [--origin NAME] [--for SECONDS]
//   svcres demo

#include <sys/stat.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "demo.hpp"
#include "dig_print.hpp"
#include "responder.hpp"
#include "svcres/metrics/prometheus.hpp"
#include "svcres/net/tcp.hpp"
#include "svcres/net/udp.hpp"
#include "svcres/service.hpp"
#include "zone.hpp"

namespace {

using namespace svcres_cli;
namespace dns = svcres::dns;

const char* const kUsage =
    "usage:\n"
    "  svcres resolve NAME [@SERVER[:PORT]] [-t A|AAAA|SRV|CNAME|TXT|SOA|NS|ANY] [--tcp] [--noedns]\n"
    "  svcres pick NAME [-n N] [--policy rr|random|weighted|p2c|ewma|maglev] [@SERVER[:PORT]]\n"
    "                   [-t SRV|A|AAAA] [--port P]\n"
    "  svcres serve ZONEFILE [--port P] [--address ADDR] [--multivalue N] [--origin NAME] [--for SECONDS]\n"
    "  svcres demo\n";

int usage(const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "svcres: %s\n", why.c_str());
  std::fputs(kUsage, stderr);
  return 2;
}

// The server from "@ADDR[:PORT]" or "@[v6]:PORT", else the first of /etc/resolv.conf.
bool server_from(const std::string& at, svcres::NameServer& out, std::string& why) {
  if (at.empty()) {
    auto conf = svcres::ResolvConf::load();
    svcres::ResolvConf c = conf.ok() ? conf.value() : svcres::ResolvConf::parse("");
    out = c.nameservers[0];
    return true;
  }
  svcres::ResolvConf c;
  svcres::Status s = c.add_nameserver(std::string_view(at).substr(1));
  if (!s.ok()) {
    why = "bad server '" + escaped(at.substr(1)) + "': " + svcres::to_string(s.error());
    return false;
  }
  out = c.nameservers[0];
  return true;
}

std::string server_text(const svcres::NameServer& ns) {
  return std::string(svcres::to_text(svcres::Endpoint{ns.address, ns.port, 0, 1}).view());
}

int cmd_resolve(const Args& a) {
  if (a.positional.size() != 1) return usage("resolve needs exactly one NAME");
  dns::Type type = dns::Type::A;
  if (!a.type.empty() && !dns::type_from_text(a.type, type)) return usage("unknown type '" + escaped(a.type) + "'");
  svcres::NameServer ns;
  std::string why;
  if (!server_from(a.server, ns, why)) return usage(why);
  dns::Name qname;
  // The query carries the name, not the text: the only limit is the wire form's.
  if (!check_name(a.positional[0], std::string::npos, qname, why)) return usage(why);

  std::uint8_t query[dns::max_name_wire + 64];
  svcres::Rng rng = svcres::Rng::from_entropy();
  const auto id = static_cast<std::uint16_t>(rng());
  dns::QueryOptions qo;
  if (a.noedns) qo.edns_payload = 0;  // no OPT: the server must fit UDP answers in 512 bytes
  auto q = dns::write_query(query, sizeof query, id, qname, type, qo);
  if (!q.ok()) return usage(std::string("cannot build the query: ") + svcres::to_string(q.error()));
  static std::uint8_t reply[dns::max_message_size];
  svcres::Exchange x;
  x.server = ns;
  x.query = query;
  x.query_size = q.value();
  x.reply = reply;
  x.reply_capacity = sizeof reply;
  x.timeout = std::chrono::milliseconds(a.timeout_ms);
  // Only a reply to this query counts (RFC 5452 §9.1: ID, QR, question), as in the Resolver; the
  // transport waits past anything else until the timeout, and the log says what it passed over.
  const svcres::detail::ReplyMatch match{id, &qname, type, false};
  x.accept = &svcres::detail::reply_matches;
  x.accept_ctx = &match;
  ReplyLog log;
  LoggingTransport transport(&log);
  bool tcp = a.tcp;
  const auto t0 = std::chrono::steady_clock::now();
  svcres::Result<std::size_t> r = tcp ? transport.tcp(x) : transport.udp(x);
  bool fell_back = false;
  if (r.ok() && !tcp && r.value() >= 3 && (reply[2] & 0x02)) {  // RFC 7766 §5: TC over UDP, retry on TCP
    fell_back = true;
    tcp = true;
    r = transport.tcp(x);
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const std::string server = server_text(ns);
  std::printf("; <<>> svcres resolve <<>> %s %s @%s%s\n", qname.to_text().c_str(), dns::type_text(type).c_str(),
              server.c_str(), a.tcp ? " +tcp" : "");
  const std::string ignored = log.summary(server);
  if (!r.ok()) {
    std::fprintf(stderr, "svcres: no answer from %s over %s: %s%s%s\n", server.c_str(), tcp ? "TCP" : "UDP",
                 svcres::to_string(r.error()), ignored.empty() ? "" : "; ", ignored.c_str());
    return 1;
  }
  if (!ignored.empty()) std::printf(";; %s\n", ignored.c_str());
  auto m = dns::Message::parse(reply, r.value());
  if (!m.ok()) {
    std::fprintf(stderr, "svcres: the reply from %s does not parse: %s\n", server.c_str(),
                 svcres::to_string(m.error()));
    return 1;
  }
  if (fell_back) std::printf(";; Truncated over UDP, retried over TCP\n");
  print_message(stdout, m.value());
  std::printf("\n;; Query time: %.2f ms\n;; SERVER: %s (%s)\n;; MSG SIZE  rcvd: %zu\n", ms, server.c_str(),
              tcp ? "TCP" : "UDP", r.value());
  return 0;
}

using PickResolver = svcres::Resolver<LoggingTransport>;

template <class P>
int run_pick(const Args& a, const svcres::NameServer& ns, dns::Type type) {
  svcres::ResolvConf conf;
  (void)conf.add_nameserver(ns);
  conf.timeout = std::chrono::milliseconds(a.timeout_ms);
  svcres::ServiceOptions opts;
  opts.query = type;
  opts.port = a.port;
  // The Resolver behind the Service logs the replies it ignored: without that, a server answering
  // garbage looks the same as a silent one ("timed out").
  ReplyLog log;
  auto resolver = std::make_unique<PickResolver>(conf, svcres::ResolverOptions{}, LoggingTransport(&log));
  using Svc = svcres::Service<P, PickResolver>;
  auto svc = std::make_unique<Svc>(*resolver, a.positional[0], opts);
  std::map<std::string, std::pair<svcres::Endpoint, std::uint64_t>> counts;
  std::uint64_t failed = 0;
  svcres::Errc first_error = svcres::Errc::ok;
  for (long i = 0; i < a.count; ++i) {
    auto l = svc->pick();
    if (!l.ok()) {
      if (first_error == svcres::Errc::ok) first_error = l.error();
      ++failed;
      continue;
    }
    auto& slot = counts[std::string(svcres::to_text(l->endpoint()).view())];
    slot.first = l->endpoint();
    ++slot.second;
    l->complete(svcres::TryOutcome::success());
  }
  if (counts.empty()) {
    const std::string server = server_text(ns);
    std::string why = svcres::to_string(first_error);
    const bool unparsed = log.unparsed.load(std::memory_order_relaxed) > 0;
    if (unparsed && log.parse_error.load(std::memory_order_relaxed) == first_error)
      why = "the reply from " + server + " does not parse: " + why;
    if (const std::string ignored = log.summary(server); !ignored.empty()) why += "; " + ignored;
    std::fprintf(stderr, "svcres: no endpoint picked for %s: %s\n", escaped(a.positional[0]).c_str(), why.c_str());
    return 1;
  }
  std::printf("%-44s %5s %6s %8s %7s\n", "endpoint", "prio", "weight", "picks", "share");
  for (const auto& kv : counts) {
    std::printf("%-44s %5u %6u %8llu %6.1f%%\n", kv.first.c_str(), kv.second.first.priority, kv.second.first.weight,
                static_cast<unsigned long long>(kv.second.second),
                100.0 * static_cast<double>(kv.second.second) / static_cast<double>(a.count));
  }
  if (failed) std::printf("%llu picks failed (%s)\n", static_cast<unsigned long long>(failed), svcres::to_string(first_error));
  std::string prom;
  // The label as the rest of the output shows the name: \DDD for bytes that are not printable.
  svcres::metrics::append_prometheus(prom, escaped(svc->name()), svc->metrics_snapshot());
  std::printf("\n%s", prom.c_str());
  return failed ? 1 : 0;
}

int cmd_pick(const Args& a) {
  if (a.positional.size() != 1) return usage("pick needs exactly one NAME");
  if (a.count <= 0 || a.count > 100000000) return usage("-n must be between 1 and 100000000");
  dns::Type type = dns::Type::SRV;
  if (!a.type.empty() && (!dns::type_from_text(a.type, type) ||
                          (type != dns::Type::SRV && type != dns::Type::A && type != dns::Type::AAAA)))
    return usage("pick resolves SRV, A or AAAA, not '" + escaped(a.type) + "'");
  // A and AAAA records carry no port: without one every endpoint would be port 0.
  if (type != dns::Type::SRV && a.port == 0)
    return usage(std::string("pick -t ") + dns::to_string(type) +
                 " needs --port P (1-65535): A and AAAA records carry no port, only SRV records do");
  svcres::NameServer ns;
  std::string why;
  if (!server_from(a.server, ns, why)) return usage(why);
  dns::Name unused;
  // Service keeps the name as text of at most max_name bytes: refuse what it would not keep whole.
  constexpr std::size_t max_text = svcres::Service<svcres::RoundRobin, PickResolver>::max_name;
  if (!check_name(a.positional[0], max_text, unused, why)) return usage(why);
  const std::string p = a.policy.empty() ? "rr" : a.policy;
  if (p == "rr") return run_pick<svcres::RoundRobin>(a, ns, type);
  if (p == "random") return run_pick<svcres::Random>(a, ns, type);
  if (p == "weighted") return run_pick<svcres::WeightedSrv>(a, ns, type);
  if (p == "p2c") return run_pick<svcres::LeastRequest>(a, ns, type);
  if (p == "ewma") return run_pick<svcres::PeakEwma>(a, ns, type);
  if (p == "maglev") return run_pick<svcres::Maglev>(a, ns, type);
  return usage("unknown policy '" + escaped(p) + "' (rr, random, weighted, p2c, ewma, maglev)");
}

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int cmd_serve(const Args& a) {
  if (a.positional.size() != 1) return usage("serve needs exactly one ZONEFILE");
  const std::string& file = a.positional[0];
  if (!a.origin.empty()) {
    dns::Name origin;
    if (svcres::Errc e = dns::Name::from_text(a.origin).get(origin); e != svcres::Errc::ok)
      return usage("bad --origin '" + escaped(a.origin) + "': " + svcres::to_string(e));
  }
  // An ifstream opens a directory without complaint and then reads nothing: ask first.
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    std::fprintf(stderr, "svcres: cannot open zone file %s: %s\n", escaped(file).c_str(), std::strerror(errno));
    return 1;
  }
  if (S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "svcres: cannot read zone file %s: it is a directory\n", escaped(file).c_str());
    return 1;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "svcres: cannot open zone file %s: %s\n", escaped(file).c_str(), std::strerror(errno));
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    std::fprintf(stderr, "svcres: cannot read zone file %s: %s\n", escaped(file).c_str(), std::strerror(errno));
    return 1;
  }
  Zone zone;
  ZoneError err;
  if (!parse_zone(ss.str(), file, a.origin, zone, err)) {
    std::fprintf(stderr, "svcres: %s\n", err.text().c_str());
    return 1;
  }
  ResponderOptions ro;
  ro.port = a.port_given ? a.port : 5300;
  ro.multivalue = a.multivalue;
  if (!a.address.empty() && svcres::IpAddress::parse(a.address).get(ro.address) != svcres::Errc::ok)
    return usage("bad --address '" + escaped(a.address) + "'");
  const std::size_t records = zone.records.size();
  const std::string origin(zone.origin.to_text().view());
  Responder r(std::move(zone), ro);
  if (std::string e = r.start(); !e.empty()) {
    std::fprintf(stderr, "svcres: %s\n", e.c_str());
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::printf("serving %zu records of %s on %s:%u (UDP and TCP)%s\n", records, origin.c_str(),
              std::string(ro.address.to_text().view()).c_str(), r.port(),
              ro.multivalue ? (", multivalue " + std::to_string(ro.multivalue)).c_str() : "");
  std::fflush(stdout);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(a.for_seconds > 0 ? a.for_seconds : 1000000000L);
  while (!g_stop && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  r.stop();
  std::printf("stopped after %llu UDP and %llu TCP queries (%llu truncated)\n",
              static_cast<unsigned long long>(r.stats().udp_queries.load()),
              static_cast<unsigned long long>(r.stats().tcp_queries.load()),
              static_cast<unsigned long long>(r.stats().truncated.load()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("");
  const std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  Args a;
  std::string why;
  if (!parse_args(argc - 2, argv + 2, a, why)) return usage(why);
  if (cmd == "resolve") return cmd_resolve(a);
  if (cmd == "pick") return cmd_pick(a);
  if (cmd == "serve") return cmd_serve(a);
  if (cmd == "demo") {
    if (!a.positional.empty()) return usage("demo takes no arguments");
    return run_demo();
  }
  return usage("unknown command '" + escaped(cmd) + "'");
}
