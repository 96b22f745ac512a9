// The pick path allocates nothing: pick(), complete(), an abandoned lease and a whole call() with
// retries run under a global operator new that counts (this test binary replaces it).

#include <atomic>
#include <cstdlib>
#include <new>

#include "fakes.hpp"
#include "svcres/balance/least_request.hpp"
#include "svcres/service.hpp"
#include "test.hpp"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  std::abort();
}
// Every unaligned form, so that no allocation made by one (Catch2 uses nothrow new, for one) is
// released by another from a different allocator (ASan checks the pairing).
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {
struct StaticResolver : svcres_test::FakeResolverBase {
  AnswerType resolve(std::string_view, svcres::dns::Type, svcres::LookupFlags) {
    AnswerType a;
    a.error = svcres::Errc::ok;
    a.ttl = 30;
    for (const char* e : {"127.0.5.1:80", "127.0.5.2:80", "127.0.5.3:80"})
      (void)a.endpoints.push_back(svcres_test::ep(e));
    return a;
  }
};
}  // namespace

TEST_CASE("pick, complete and call allocate nothing") {
  StaticResolver dns;
  svcres::ManualClock manual;
  svcres::Duration slept{};
  svcres_test::TestClock clock{&manual, &slept};
  auto svc = std::make_unique<svcres::Service<svcres::LeastRequest, StaticResolver, 16, svcres_test::TestClock>>(
      dns, "s.local", svcres::ServiceOptions{}, clock);
  {
    auto warm = svc->pick();  // first use resolves and seeds this thread's generator
    REQUIRE(warm.ok());
  }
  const long before = g_allocations.load();
  REQUIRE(before > 0);  // the counting operator new is in use (make_unique above went through it)
  for (int i = 0; i < 1000; ++i) {
    auto l = svc->pick();
    REQUIRE(l.ok());
    if (i % 3) l->complete(svcres::TryOutcome::http(i % 7 ? 200 : 503));
  }
  int n = 0;
  auto r = svc->call([&](const svcres::Endpoint&, svcres::TimePoint) {
    return ++n < 3 ? svcres::TryOutcome::connect_failure() : svcres::TryOutcome::http(200);
  });
  CHECK(r.ok());
  manual.advance(std::chrono::seconds(31));  // a pull-driven refresh on the next pick
  REQUIRE(svc->pick().ok());
  CHECK(g_allocations.load() == before);
}
