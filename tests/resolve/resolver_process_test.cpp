// The resolver and the process around it: the stack a resolution needs (measured on a thread
// whose stack is painted first) and fork() (a child must not repeat its parent's query IDs).
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../net/loopback_server.hpp"
#include "scripted_transport.hpp"
#include "svcres/net/posix_transport.hpp"
#include "svcres/resolve/resolver.hpp"
#include "test.hpp"

using namespace std::chrono_literals;
using svcres::Errc;
using svcres::dns::Type;
using svcres_test::ScriptedTransport;

namespace {

using R = svcres::Resolver<ScriptedTransport, svcres::ManualClock>;

svcres::ResolvConf one_server() {
  svcres::ResolvConf c;
  REQUIRE(c.add_nameserver("127.0.0.1:1").ok());
  c.timeout = 100ms;
  return c;
}

// Runs fn(arg) on a new thread whose stack is `size` bytes of our own memory, painted with a
// pattern first; returns the bytes the thread touched (stacks grow down on every platform here,
// so the untouched part is at the low end). 0 when the thread could not be started.
std::size_t run_on_painted_stack(std::size_t size, void* (*fn)(void*), void* arg) {
  void* mem = nullptr;
  if (posix_memalign(&mem, 4096, size) != 0) return 0;
  std::memset(mem, 0xa5, size);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, mem, size);
  pthread_t th;
  std::size_t used = 0;
  if (pthread_create(&th, &attr, fn, arg) == 0) {
    pthread_join(th, nullptr);
    const auto* p = static_cast<const unsigned char*>(mem);
    std::size_t untouched = 0;
    while (untouched < size && p[untouched] == 0xa5) ++untouched;
    used = size - untouched;
  }
  pthread_attr_destroy(&attr);
  std::free(mem);
  return used;
}

using PosixR = svcres::Resolver<svcres::PosixTransport>;

struct StackRun {
  PosixR* resolver;
  svcres::Errc error = Errc::not_found;
  std::size_t endpoints = 0;
  std::uint32_t packets = 0;
};

// What a pull refresh does: an SRV lookup past the cache, whose targets need address queries.
void* resolve_srv(void* p) {
  auto* run = static_cast<StackRun*>(p);
  svcres::LookupFlags refresh;
  refresh.bypass_cache = true;
  auto a = run->resolver->resolve("user-service.local", Type::SRV, refresh);
  run->error = a.error;
  run->endpoints = a.endpoints.size();
  run->packets = a.packets;
  return nullptr;
}

// 64 KiB is the claim; sanitizer builds fit too (ASan peaked at about 28 KiB, TSan 17 KiB).
constexpr std::size_t small_stack = 64 * 1024;

}  // namespace

TEST_CASE("an SRV resolution with target queries runs on a 64 KiB thread stack", "[resolver][stack]") {
  // A real UDP exchange with PosixTransport, against a server on a kernel-chosen loopback port that
  // sends no additional section (as unbound): one A query per target.
  svcres_test::LoopbackServer server;
  REQUIRE(server.ok());
  server.edit_zone([](svcres_test::MiniZone& z) {
    z.service("user-service.local", 3, 8080, 2);
    z.additional = false;
  });
  svcres::ResolvConf c;
  REQUIRE(c.add_nameserver("127.0.0.1:" + std::to_string(server.port())).ok());
  c.timeout = 2s;
  auto r = std::make_unique<PosixR>(c);
  StackRun run{r.get()};
  const std::size_t used = run_on_painted_stack(small_stack, &resolve_srv, &run);
  REQUIRE(used > 0);
  // glibc puts the thread's descriptor and static TLS at the top of a caller-given stack: what a
  // thread that does nothing touches is not the resolver's.
  const std::size_t baseline = run_on_painted_stack(small_stack, [](void*) -> void* { return nullptr; }, nullptr);
  CHECK(run.error == Errc::ok);
  CHECK(run.endpoints == 3);
  CHECK(run.packets == 4);
  // The figures quoted in resolver.hpp (the peak includes the thread's start-up frames).
  std::printf("resolver stack peak: %zu bytes touched of a %zu-byte stack, %zu of them by an idle thread; "
              "sizeof(Resolver<PosixTransport>) = %zu\n",
              used, small_stack, baseline, sizeof(PosixR));
}

namespace {
// A scripted transport that, like PosixTransport, reports the process it runs in.
struct ForkAwareTransport : ScriptedTransport {
  std::uint64_t process_tag() const noexcept { return static_cast<std::uint64_t>(::getpid()); }
};
static_assert(svcres::detail::has_process_tag_v<ForkAwareTransport>, "the hook is detected");
static_assert(svcres::detail::has_process_tag_v<svcres::PosixTransport>, "PosixTransport offers the hook");
}  // namespace

TEST_CASE("after fork() the child's query IDs and 0x20 case differ from the parent's", "[resolver][fork]") {
  ForkAwareTransport t;
  t.s->zone.a("a-long-name-with-many-letters-for-case.local", "127.0.1.10");
  svcres::ResolverOptions o;
  o.use_0x20 = true;
  o.cache = false;
  auto r = std::make_unique<svcres::Resolver<ForkAwareTransport, svcres::ManualClock>>(one_server(), o, t);
  REQUIRE(r->resolve("a-long-name-with-many-letters-for-case.local", Type::A).ok());
  // What the next query looks like, as "id name".
  auto next_query = [&]() {
    t.s->udp_ids.clear();
    t.s->udp_names.clear();
    const bool ok = r->resolve("a-long-name-with-many-letters-for-case.local", Type::A).ok();
    if (!ok || t.s->udp_ids.empty()) return std::string("failed");
    return std::to_string(t.s->udp_ids[0]) + " " + t.s->udp_names[0];
  };
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const std::string q = next_query();
    ssize_t w = write(fds[1], q.data(), q.size());
    _exit(w == static_cast<ssize_t>(q.size()) ? 0 : 1);
  }
  close(fds[1]);
  const std::string parent = next_query();
  char buf[512];
  std::string from_child;
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) from_child.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  INFO("parent: " << parent << "; child: " << from_child);
  REQUIRE(parent != "failed");
  REQUIRE(from_child != "failed");
  // Equal by chance: the same 16-bit ID and the same case of 36 letters, below 2^-50.
  CHECK(parent != from_child);
}
