// Merge mode against a Route 53-like multivalue responder: `svcres serve --multivalue 8` (the CLI,
// a separate process) answering 8 random SRV records of a 40-task zone written here. Refreshes are
// driven with EndpointResolver::refresh(), no sleeping on TTLs.
//
// Bounds and their failure probabilities (p = 8/40 = 0.2 per answer for a live task):
// - learn: all 40 known within 80 refreshes. P(a task unseen after 80) = 0.8^80; union over 40:
//   40 * 0.8^80 = 7.1e-7. (Measured mean: about 20 refreshes.)
// - hold: merge_false_drop = 1e-10 gives m = ceil(ln 1e-10 / ln 0.8) = 104 successive misses to
//   drop. P(a live task has a run of 104 misses within the 280 refreshes of learn + hold) = 3.0e-9
//   (exact, by dynamic programming over the run length); over 40 tasks 1.2e-7 per run of this test.
// - remove: after the zone is cut to 30 tasks, each of the 10 removed was last seen before the cut
//   and is dropped at its 104th miss at the latest (m only shrinks as the known set shrinks): all
//   gone within 104 refreshes, deterministically. The 30 left are missed with probability
//   1 - 8/30 per answer, while m >= ceil(ln 1e-10 / ln(1 - 8/30)) = 75: P(false drop) < 30 * 104 *
//   0.733^75 = 2.4e-7.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <string>

#include "svcres/net/posix_transport.hpp"
#include "svcres/resolve/endpoint_resolver.hpp"
#include "test.hpp"

using namespace std::chrono_literals;
using svcres::Errc;

namespace {

std::string zone_text(int tasks) {
  std::string z = "$ORIGIN test.\n$TTL 60\n@ IN SOA ns.test. host.test. 1 60 60 60 5\n";
  for (int i = 0; i < tasks; ++i) {
    const std::string host = "t" + std::to_string(i) + ".batch";
    z += "batch IN SRV 1 1 9000 " + host + "\n";
    z += host + " IN A 127.0.7." + std::to_string(10 + i) + "\n";
  }
  return z;
}

// `svcres serve ZONE --multivalue 8 --port P` as a child process; P == 0: the server picks.
struct ServeProcess {
  pid_t pid = -1;
  std::uint16_t port = 0;
  std::string zone_file;

  ServeProcess(int tasks, std::uint16_t at) {
    char path[] = "/tmp/svcres-merge-zone-XXXXXX";
    const int zfd = ::mkstemp(path);
    REQUIRE(zfd >= 0);
    const std::string z = zone_text(tasks);
    REQUIRE(::write(zfd, z.data(), z.size()) == static_cast<ssize_t>(z.size()));
    ::close(zfd);
    zone_file = path;
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      const std::string p = std::to_string(at);
      ::execl(SVCRES_CLI, SVCRES_CLI, "serve", path, "--multivalue", "8", "--port", p.c_str(), "--address",
              "127.0.0.1", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    // "serving 81 records of test. on 127.0.0.1:PORT (UDP and TCP), multivalue 8"
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);
    INFO("svcres serve said: " << line);
    const auto at_colon = line.find("127.0.0.1:");
    REQUIRE(at_colon != std::string::npos);
    port = static_cast<std::uint16_t>(std::atoi(line.c_str() + at_colon + 10));
    REQUIRE(port != 0);
  }
  ~ServeProcess() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int st = 0;
      ::waitpid(pid, &st, 0);
    }
    ::unlink(zone_file.c_str());
  }
};

using R = svcres::Resolver<svcres::PosixTransport>;
using ER = svcres::EndpointResolver<R, 1>;

svcres::ResolvConf conf_for(std::uint16_t port) {
  svcres::ResolvConf c;
  REQUIRE(c.add_nameserver(svcres::NameServer{svcres::IpAddress::v4(127, 0, 0, 1), port}).ok());
  c.timeout = 2s;
  return c;
}

std::set<std::string> texts(const svcres::FixedVector<svcres::Endpoint, R::max_endpoints>& eps) {
  std::set<std::string> out;
  for (const auto& e : eps) out.insert(std::string(svcres::to_text(e).view()));
  return out;
}

}  // namespace

TEST_CASE("merge mode converges on 8-of-40 multivalue answers, holds 40, and lets removed tasks go") {
  auto server = std::make_unique<ServeProcess>(40, 0);
  const std::uint16_t port = server->port;
  std::printf("svcres serve --multivalue 8 on 127.0.0.1:%u\n", port);
  auto resolver = std::make_unique<R>(conf_for(port));

  // Before: the fixed rule this replaces (drop after 8 successive misses) plateaus below 40.
  {
    svcres::EndpointResolverOptions fixed;
    fixed.merge = svcres::MergeMode::union_of_refreshes;
    fixed.merge_keep_refreshes = 8;
    auto er = std::make_unique<ER>(*resolver, fixed);
    std::size_t peak = 0, sum = 0, low = 1000;
    const int n = 300;
    for (int i = 0; i < n; ++i) {
      auto s = er->refresh("batch.test", 0);
      REQUIRE(s.error == Errc::ok);
      if (i >= 50) {
        peak = std::max(peak, s.endpoints.size());
        low = std::min(low, s.endpoints.size());
        sum += s.endpoints.size();
      }
    }
    std::printf("fixed 8-miss rule, refreshes 50-300: peak %zu, mean %.1f, low %zu of 40\n", peak,
                static_cast<double>(sum) / (n - 50), low);
  }

  svcres::EndpointResolverOptions o;
  o.merge = svcres::MergeMode::union_of_refreshes;
  o.merge_false_drop = 1e-10;
  REQUIRE(svcres::detail::merge_misses_to_drop(8, 40, 8, o.merge_false_drop) == 104);
  auto er = std::make_unique<ER>(*resolver, o);
  int learned_after = 0;
  std::size_t known = 0;
  while (known < 40 && learned_after < 80) {
    auto s = er->refresh("batch.test", 0);
    REQUIRE(s.error == Errc::ok);
    REQUIRE(s.packets == 1);
    known = s.endpoints.size();
    ++learned_after;
  }
  std::printf("learned %zu of 40 in %d refreshes\n", known, learned_after);
  REQUIRE(known == 40);

  std::size_t low = 40;
  for (int i = 0; i < 200; ++i) low = std::min(low, er->refresh("batch.test", 0).endpoints.size());
  std::printf("held: lowest %zu of 40 over 200 further refreshes\n", low);
  CHECK(low == 40);

  // The zone is cut to 30 tasks: the server restarts on the same port with the smaller zone.
  server.reset();
  server = std::make_unique<ServeProcess>(30, port);
  std::set<std::string> want;
  for (int i = 0; i < 30; ++i) want.insert("127.0.7." + std::to_string(10 + i) + ":9000");
  int gone_after = 0;
  std::set<std::string> now_known;
  std::size_t live_low = 30;
  while (gone_after < 104) {
    auto s = er->refresh("batch.test", 0);
    REQUIRE(s.error == Errc::ok);
    ++gone_after;
    now_known = texts(s.endpoints);
    std::size_t live = 0;
    for (const auto& t : now_known) live += want.count(t);
    live_low = std::min(live_low, live);
    if (now_known.size() == 30) break;
  }
  std::printf("after the cut to 30: the 10 removed were gone after %d refreshes (bound 104)\n", gone_after);
  CHECK(now_known == want);
  CHECK(live_low == 30);  // no live task dropped meanwhile (once all 30 had been seen again)
}
