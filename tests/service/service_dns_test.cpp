// Service over the real resolver and real sockets: a silent nameserver against a call() deadline,
// and the stack a pull refresh needs, measured on a thread with a 64 KiB stack against NSD
// (fixture dns_nsd, tests/servers/zones/local.zone on 127.0.0.1:15301).

#include <netinet/in.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "svcres/responder.hpp"
#include "svcres/service.hpp"
#include "test.hpp"

using namespace std::chrono_literals;
using svcres::Errc;

namespace {

// A UDP socket on 127.0.0.1 that never answers (nothing reads it): a DNS server gone silent.
struct SilentServer {
  int fd = -1;
  std::uint16_t port = 0;
  explicit SilentServer(std::uint16_t at = 0) {
    fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(at);  // 0: the kernel picks a free port
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t n = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) == 0);
    port = ntohs(a.sin_port);
  }
  ~SilentServer() { ::close(fd); }
};

svcres::ResolvConf nsd_conf() {
  svcres::ResolvConf c;
  REQUIRE(c.add_nameserver("127.0.0.1:" + std::to_string(SVCRES_NSD_PORT)).ok());
  c.timeout = 2s;
  return c;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::size_t sanitizer_factor = 8;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr std::size_t sanitizer_factor = 8;
#else
constexpr std::size_t sanitizer_factor = 1;
#endif
#else
constexpr std::size_t sanitizer_factor = 1;
#endif

constexpr std::size_t small_stack = 64 * 1024 * sanitizer_factor;
constexpr unsigned char paint = 0xa5;

struct StackRun {
  void (*fn)(void*);
  void* arg;
};

void* trampoline(void* p) {
  auto* r = static_cast<StackRun*>(p);
  r->fn(r->arg);
  return nullptr;
}

// Runs fn(arg) on a thread whose stack is `stack_size` bytes of painted memory above a guard page,
// and returns how many bytes of it were written (glibc puts the thread's descriptor and TLS at the
// top of a caller-provided stack: they count too; see the baseline). An overflow hits the guard page.
std::size_t peak_stack(std::size_t stack_size, void (*fn)(void*), void* arg) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  void* m = ::mmap(nullptr, stack_size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(m != MAP_FAILED);
  REQUIRE(::mprotect(m, page, PROT_NONE) == 0);
  auto* stack = static_cast<unsigned char*>(m) + page;
  std::memset(stack, paint, stack_size);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  REQUIRE(pthread_attr_setstack(&attr, stack, stack_size) == 0);
  StackRun run{fn, arg};
  pthread_t th;
  REQUIRE(pthread_create(&th, &attr, trampoline, &run) == 0);
  pthread_join(th, nullptr);
  pthread_attr_destroy(&attr);
  std::size_t untouched = 0;
  while (untouched < stack_size && stack[untouched] == paint) ++untouched;
  ::munmap(m, stack_size + page);
  return stack_size - untouched;
}

using Svc = svcres::Service<svcres::RoundRobin>;

struct Job {
  Svc* svc;
  bool ok = false;
  std::size_t endpoints = 0;
};

void do_nothing(void*) {}
void do_pick(void* p) {
  auto* j = static_cast<Job*>(p);
  auto l = j->svc->pick();  // first use: a pull refresh on this thread
  j->ok = l.ok();
  if (l.ok()) l->complete(svcres::TryOutcome::http(200));
  j->endpoints = j->svc->snapshot().size();
}
void do_call(void* p) {
  auto* j = static_cast<Job*>(p);
  auto r = j->svc->call([](const svcres::Endpoint&, svcres::TimePoint) { return svcres::TryOutcome::http(200); });
  j->ok = r.ok();
  j->endpoints = j->svc->snapshot().size();
}
void do_refresh(void* p) {
  auto* j = static_cast<Job*>(p);
  j->ok = j->svc->refresh().ok();
  j->endpoints = j->svc->snapshot().size();
}

}  // namespace

TEST_CASE("call() with a 1 s deadline against a silent nameserver returns by the deadline") {
  SilentServer silent;
  svcres::ResolvConf conf;
  REQUIRE(conf.add_nameserver(svcres::NameServer{svcres::IpAddress::v4(127, 0, 0, 1), silent.port}).ok());
  conf.timeout = 5s;  // glibc's default: 5 s, then 10 s in the second round
  auto svc = std::make_unique<Svc>(conf, "user-service.local");
  bool called = false;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = svc->call([&](const svcres::Endpoint&, svcres::TimePoint) {
    called = true;
    return svcres::TryOutcome::http(200);
  }, svcres::RetryPolicy{}, t0 + 1s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::printf("silent nameserver, 1000 ms deadline: call() returned %s after %lld ms\n",
              svcres::to_string(r.error), static_cast<long long>(took.count()));
  CHECK_FALSE(called);
  CHECK(r.tries == 0);
  CHECK(r.error == Errc::deadline_exceeded);
  CHECK(took < 2500ms);  // 1 s and a generous slack for a loaded machine; without the bound: 15 s
}

TEST_CASE("call() with a set in hand and a nameserver gone silent: the try runs by the deadline") {
  svcres_cli::Zone zone;
  svcres_cli::ZoneError err;
  REQUIRE(svcres_cli::parse_zone("$ORIGIN test.\n$TTL 1\n@ IN SOA ns.test. host.test. 1 60 60 60 1\n"
                                 "svc IN SRV 1 1 8080 t0.svc\nt0.svc IN A 127.0.5.10\n",
                                 "test.zone", "", zone, err));
  auto dns = std::make_unique<svcres_cli::Responder>(std::move(zone), svcres_cli::ResponderOptions{});
  REQUIRE(dns->start().empty());
  const std::uint16_t port = dns->port();
  svcres::ResolvConf conf;
  REQUIRE(conf.add_nameserver(svcres::NameServer{svcres::IpAddress::v4(127, 0, 0, 1), port}).ok());
  conf.timeout = 5s;
  auto svc = std::make_unique<Svc>(conf, "svc.test");
  REQUIRE(svc->refresh().ok());
  dns->stop();
  SilentServer silent(port);  // the same address, now silent
  std::this_thread::sleep_for(1100ms);  // TTL 1 s: the refresh is due
  const auto t0 = std::chrono::steady_clock::now();
  auto r = svc->call([](const svcres::Endpoint&, svcres::TimePoint) { return svcres::TryOutcome::http(200); },
                     svcres::RetryPolicy{}, t0 + 1s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::printf("silent nameserver, set in hand, 1000 ms deadline: call() returned %s after %lld ms (%u tries)\n",
              svcres::to_string(r.error), static_cast<long long>(took.count()), r.tries);
  CHECK(r.ok());
  CHECK(r.tries == 1);
  CHECK(took < 2500ms);  // the refresh may use half of the 1 s; without the bound: 15 s
}

namespace {
// Runs the measurements in a child process, so that an overflow (SIGSEGV on the guard page) is
// reported instead of killing the test binary. Returns the child's report; `status` its exit.
std::string measure_in_child(std::size_t stack_size, int& status) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(fds[0]);
    char out[256];
    auto say = [&](const char* what, std::size_t bytes, const Job& j) {
      const int n = std::snprintf(out, sizeof out, "%s %zu %d %zu\n", what, bytes, j.ok ? 1 : 0, j.endpoints);
      if (::write(fds[1], out, static_cast<std::size_t>(n)) < 0) ::_exit(3);
    };
    Job none{nullptr};
    say("baseline", peak_stack(stack_size, do_nothing, &none), none);
    const svcres::ResolvConf conf = nsd_conf();
    auto a = std::make_unique<Svc>(conf, "user-service.local");
    Job ja{a.get()};
    say("pick", peak_stack(stack_size, do_pick, &ja), ja);
    auto b = std::make_unique<Svc>(conf, "user-service.local");
    Job jb{b.get()};
    say("call", peak_stack(stack_size, do_call, &jb), jb);
    Job jc{a.get()};
    say("refresh", peak_stack(stack_size, do_refresh, &jc), jc);
    // The resolver alone, for comparison: Service's own share is the difference.
    auto r = std::make_unique<svcres::Resolver<svcres::PosixTransport>>(conf);
    struct Bare {
      svcres::Resolver<svcres::PosixTransport>* r;
      Job j;
    } bare{r.get(), Job{nullptr}};
    say("resolver", peak_stack(stack_size, [](void* p) {
          auto* x = static_cast<Bare*>(p);
          auto ans = x->r->resolve("user-service.local", svcres::dns::Type::SRV, svcres::LookupFlags{true, false});
          x->j.ok = ans.ok();
          x->j.endpoints = ans.endpoints.size();
        }, &bare), bare.j);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string report;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) report.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  ::waitpid(child, &status, 0);
  std::printf("stack of a %zu KiB thread (bytes written; baseline = thread start, descriptor and TLS):\n%s",
              stack_size / 1024, report.c_str());
  return report;
}
}  // namespace

TEST_CASE("a pull refresh, pick() and call() fit a 64 KiB thread stack (real resolver, NSD)") {
  int big_status = 0;
  (void)measure_in_child(1024 * 1024 * sanitizer_factor, big_status);  // the figures, whatever the frames
  int status = 0;
  const std::string report = measure_in_child(small_stack, status);
  INFO("child report:\n" << report);
  if (WIFSIGNALED(status)) FAIL("the child died of signal " << WTERMSIG(status) << " (stack overflow past the guard page?)");
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  for (const char* what : {"pick ", "call ", "refresh "}) {
    const auto at = report.find(what);
    REQUIRE(at != std::string::npos);
    std::size_t bytes = 0, endpoints = 0;
    int ok = 0;
    REQUIRE(std::sscanf(report.c_str() + at + std::strlen(what), "%zu %d %zu", &bytes, &ok, &endpoints) == 3);
    CHECK(ok == 1);
    CHECK(endpoints == 3);
    CHECK(bytes < small_stack);
  }
}
