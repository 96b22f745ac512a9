#pragma once
// Test doubles for the Service unit tests: a resolver that returns what the test says (the timing
// logic under test is the service's, not DNS), and a manual clock whose sleep_for advances time.

#include <atomic>
#include <initializer_list>
#include <string>

#include "svcres/core/clock.hpp"
#include "svcres/core/endpoint.hpp"
#include "svcres/resolve/answer.hpp"
#include "svcres/resolve/resolver.hpp"

namespace svcres_test {

using svcres::Duration;
using svcres::Endpoint;
using svcres::TimePoint;

inline Endpoint ep(const char* text) { return Endpoint::parse(text).value(); }

struct FakeResolver {
  using AnswerType = svcres::Answer<64>;
  AnswerType answer;
  std::atomic<unsigned> calls{0};
  std::string last_name;
  svcres::dns::Type last_type = svcres::dns::Type::A;
  bool last_bypass = false;

  void set(std::initializer_list<Endpoint> eps, std::uint32_t ttl) {
    answer = AnswerType{};
    answer.error = svcres::Errc::ok;
    answer.ttl = ttl;
    for (const Endpoint& e : eps) (void)answer.endpoints.push_back(e);
  }
  void fail(svcres::Errc e) {
    answer = AnswerType{};
    answer.error = e;
  }
  AnswerType resolve(std::string_view name, svcres::dns::Type type, svcres::LookupFlags flags) {
    calls.fetch_add(1);
    last_name = std::string(name);
    last_type = type;
    last_bypass = flags.bypass_cache;
    AnswerType a = answer;
    a.packets = 1;
    return a;
  }
};

// A ManualClock shared by pointer so the test, the service and the callbacks see one time.
struct TestClock {
  svcres::ManualClock* clock;
  Duration* slept;
  TimePoint now() const noexcept { return clock->now(); }
  void sleep_for(Duration d) noexcept {
    clock->advance(d);
    *slept += d;
  }
};

}  // namespace svcres_test
