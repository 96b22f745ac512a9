// glibc fidelity (issue 14): glibc's res_search and svcres's Resolver on the same resolv.conf, against
// responders on 127.0.0.{1,2,3}:53 that log each query's name and arrival time. Runs only inside the
// namespace run_in_namespace.sh makes (its own /etc/resolv.conf and loopback); it refuses to run
// anywhere else, so the machine's resolv.conf is never used.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "svcres/dns/message.hpp"
#include "svcres/dns/writer.hpp"
#include "svcres/net/posix_transport.hpp"
#include "svcres/resolve/resolver.hpp"
#include "test.hpp"

extern char** environ;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using svcres::dns::Type;

namespace {

const char* conf_path() { return std::getenv("SVCRES_FIDELITY_RESOLV_CONF"); }

// True only inside run_in_namespace.sh: /etc/resolv.conf is then our file, bind-mounted.
bool in_private_namespace() {
  const char* p = conf_path();
  struct stat ours {}, etc {};
  return p && ::stat(p, &ours) == 0 && ::stat("/etc/resolv.conf", &etc) == 0 && ours.st_dev == etc.st_dev &&
         ours.st_ino == etc.st_ino;
}

// Rewrites our resolv.conf in place (same inode, so the bind mount shows the new text).
void write_conf(const std::string& text) {
  const int fd = ::open(conf_path(), O_WRONLY | O_TRUNC);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
}

enum class Act { silent, servfail, nxdomain, answer };

struct Arrival {
  std::string name;  // lower-case, with the trailing dot
  int server;        // 1, 2, 3: 127.0.0.<server>
  Clock::time_point at;
};

// UDP responders on 127.0.0.1-3 port 53 (the namespace's own), one thread. Each query is logged,
// then answered as the rule for its name says (no rule: NXDOMAIN).
class Responders {
 public:
  explicit Responders(int servers) {
    for (int i = 1; i <= servers; ++i) {
      const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(53);
      a.sin_addr.s_addr = htonl(0x7f000000u | static_cast<std::uint32_t>(i));
      if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ok_ = false;
        if (fd >= 0) ::close(fd);
        continue;
      }
      fds_.push_back(fd);
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~Responders() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) ::close(fd);
  }
  bool ok() const { return ok_; }
  void rule(const std::string& name, Act act) {
    std::lock_guard<std::mutex> lock(mu_);
    rules_[name] = act;
  }
  std::vector<Arrival> take() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Arrival> out;
    out.swap(log_);
    return out;
  }

 private:
  void loop() {
    std::vector<pollfd> p;
    for (int fd : fds_) p.push_back(pollfd{fd, POLLIN, 0});
    while (!stop_) {
      if (::poll(p.data(), p.size(), 20) <= 0) continue;
      for (std::size_t i = 0; i < p.size(); ++i)
        if (p[i].revents & POLLIN) serve(p[i].fd, static_cast<int>(i) + 1);
    }
  }
  void serve(int fd, int server) {
    std::uint8_t q[1500], r[1500];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(fd, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&from), &len);
    const auto at = Clock::now();
    if (n <= 0) return;
    auto m = svcres::dns::Message::parse(q, static_cast<std::size_t>(n));
    if (!m.ok() || !m->has_question()) return;
    const svcres::dns::Name qname = m->question().name.to_name().value();
    std::string text(qname.to_text().view());
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    Act act = Act::nxdomain;
    {
      std::lock_guard<std::mutex> lock(mu_);
      log_.push_back(Arrival{text, server, at});
      auto it = rules_.find(text);
      if (it != rules_.end()) act = it->second;
    }
    if (act == Act::silent) return;
    svcres::dns::Header h;
    h.id = m->header().id;
    h.qr = true;
    h.rd = m->header().rd;
    h.ra = true;
    h.rcode = act == Act::servfail ? 2 : act == Act::nxdomain ? 3 : 0;
    svcres::dns::Writer w(r, sizeof r);
    w.set_header(h);
    w.add_question(qname, m->question().type);
    if (act == Act::answer && m->question().type == Type::A) {
      w.begin_section(svcres::dns::Section::answer);
      w.add_a(qname, 60, svcres::IpAddress::v4(127, 0, 0, 77));
    }
    auto size = w.finish();
    if (size.ok()) ::sendto(fd, r, *size, 0, reinterpret_cast<sockaddr*>(&from), len);
  }

  std::vector<int> fds_;
  bool ok_ = true;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, Act> rules_;
  std::vector<Arrival> log_;
};

struct GlibcResult {
  bool resolved = false;
  std::string output;
  Clock::duration took{};
};

// glibc_query NAME in a new process: a fresh res_init, so it reads the resolv.conf written last.
GlibcResult run_glibc(const std::string& name) {
  int out[2];
  REQUIRE(::pipe(out) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  std::string prog = SVCRES_GLIBC_QUERY;
  char* argv[] = {prog.data(), const_cast<char*>(name.c_str()), nullptr};
  const auto start = Clock::now();
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, prog.c_str(), &fa, nullptr, argv, environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  GlibcResult g;
  char buf[256];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) g.output.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  g.took = Clock::now() - start;
  g.resolved = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return g;
}

using PosixR = svcres::Resolver<svcres::PosixTransport>;

std::unique_ptr<PosixR> svcres_from_conf() {
  auto conf = svcres::ResolvConf::load(conf_path());
  REQUIRE(conf.ok());
  svcres::ResolverOptions o;
  o.cache = false;
  return std::make_unique<PosixR>(conf.value(), o);
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The arrivals for `name`, as (server, ms after the first of them).
std::vector<std::pair<int, double>> schedule(const std::vector<Arrival>& log, const std::string& name) {
  std::vector<std::pair<int, double>> out;
  Clock::time_point first{};
  for (const auto& a : log) {
    if (a.name != name) continue;
    if (out.empty()) first = a.at;
    out.emplace_back(a.server, ms(a.at - first));
  }
  return out;
}

std::string show(const std::vector<std::pair<int, double>>& s) {
  std::string t;
  for (const auto& [server, at] : s) t += "127.0.0." + std::to_string(server) + "@" + std::to_string(static_cast<int>(at)) + "ms ";
  return t;
}

std::vector<std::string> names(const std::vector<Arrival>& log) {
  std::vector<std::string> out;
  for (const auto& a : log) out.push_back(a.name);
  return out;
}

// glibc and svcres at once (different names, so the log tells them apart) against silent servers:
// the same servers, in the same order, at the same times (±300 ms), and the same total time.
void compare_schedules(const std::string& conf, int servers, const std::vector<double>& expected_ms,
                       double expected_total_ms) {
  REQUIRE(in_private_namespace());
  Responders resp(servers);
  REQUIRE(resp.ok());
  resp.rule("g.test.", Act::silent);
  resp.rule("s.test.", Act::silent);
  write_conf(conf);
  auto r = svcres_from_conf();
  Clock::duration svcres_took{};
  svcres::Errc svcres_error = svcres::Errc::ok;
  std::thread s([&] {
    const auto start = Clock::now();
    svcres_error = r->resolve("s.test.", Type::A).error;
    svcres_took = Clock::now() - start;
  });
  const GlibcResult g = run_glibc("g.test.");
  s.join();
  const auto log = resp.take();
  const auto gs = schedule(log, "g.test."), ss = schedule(log, "s.test.");
  INFO("glibc:  " << show(gs) << " total " << static_cast<int>(ms(g.took)) << " ms");
  INFO("svcres: " << show(ss) << " total " << static_cast<int>(ms(svcres_took)) << " ms");
  std::printf("%sglibc  sends: %s total %d ms\nsvcres sends: %s total %d ms\n", conf.c_str(), show(gs).c_str(),
              static_cast<int>(ms(g.took)), show(ss).c_str(), static_cast<int>(ms(svcres_took)));
  CHECK_FALSE(g.resolved);
  CHECK(svcres_error == svcres::Errc::timeout);
  REQUIRE(gs.size() == expected_ms.size());
  REQUIRE(ss.size() == gs.size());
  constexpr double tolerance = 300;
  for (std::size_t i = 0; i < gs.size(); ++i) {
    CHECK(ss[i].first == gs[i].first);
    CHECK(std::abs(gs[i].second - expected_ms[i]) < tolerance);
    CHECK(std::abs(ss[i].second - gs[i].second) < tolerance);
  }
  CHECK(std::abs(ms(g.took) - expected_total_ms) < tolerance + 200);  // + process start-up
  CHECK(std::abs(ms(svcres_took) - ms(g.took)) < tolerance + 200);
}

}  // namespace

TEST_CASE("timeout schedule: one silent server, timeout:1 attempts:3, as glibc (+0/+1/+2 s, 3 s)", "[fidelity]") {
  compare_schedules("nameserver 127.0.0.1\noptions timeout:1 attempts:3\n", 1, {0, 1000, 2000}, 3000);
}

TEST_CASE("timeout schedule: three silent servers, timeout:2 attempts:1, as glibc (waits 2, 1, 2 s)", "[fidelity]") {
  compare_schedules(
      "nameserver 127.0.0.1\nnameserver 127.0.0.2\nnameserver 127.0.0.3\noptions timeout:2 attempts:1\n", 3,
      {0, 2000, 3000}, 5000);
}

TEST_CASE("search: the candidates glibc asks, in glibc's order, and the same outcome", "[fidelity]") {
  REQUIRE(in_private_namespace());
  Responders resp(1);
  REQUIRE(resp.ok());
  write_conf("nameserver 127.0.0.1\nsearch a.test b.test\noptions timeout:1 attempts:1\n");
  resp.rule("foo.a.test.", Act::servfail);     // SERVFAIL: glibc goes on to b.test
  resp.rule("foo.b.test.", Act::answer);
  resp.rule("foo.bar.", Act::silent);          // a timeout on the as-is-first name: on to a.test
  resp.rule("foo.bar.a.test.", Act::answer);
  resp.rule("quiet.a.test.", Act::silent);     // a timeout in the list: glibc ends it, tries "quiet."
  auto r = svcres_from_conf();
  for (const char* name : {"foo", "foo.bar", "quiet", "nowhere"}) {
    const GlibcResult g = run_glibc(name);
    const auto glibc_names = names(resp.take());
    const auto a = r->resolve(name, Type::A);
    const auto svcres_names = names(resp.take());
    std::string gl, sv;
    for (const auto& n : glibc_names) gl += n + " ";
    for (const auto& n : svcres_names) sv += n + " ";
    INFO(name << ": glibc asked " << gl << "-> " << g.output << "svcres asked " << sv << "-> "
              << svcres::to_string(a.error));
    std::printf("search %s: glibc asked %s-> %s   svcres asked %s-> %s\n", name, gl.c_str(), g.output.c_str(),
                sv.c_str(), svcres::to_string(a.error));
    CHECK(svcres_names == glibc_names);
    CHECK(a.ok() == g.resolved);
  }
}
