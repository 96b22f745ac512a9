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

// What Service (through EndpointResolver) needs of a resolver besides resolve().
struct FakeResolverBase {
  static constexpr std::size_t max_endpoints = 64;
  using AnswerType = svcres::Answer<max_endpoints>;
  svcres::ResolverOptions resolver_options{};
  const svcres::ResolverOptions& options() const noexcept { return resolver_options; }
};

struct FakeResolver : FakeResolverBase {
  AnswerType answer;
  std::atomic<unsigned> calls{0};
  std::string last_name;
  svcres::dns::Type last_type = svcres::dns::Type::A;
  bool last_bypass = false;
  TimePoint last_deadline{};
  // A server that takes `latency` to answer, on the test's manual clock: a lookup whose deadline
  // comes first ends at the deadline with Errc::deadline_exceeded, as LookupFlags::deadline says.
  svcres::ManualClock* clock = nullptr;
  Duration latency{};

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
    last_deadline = flags.deadline;
    if (clock && latency > Duration::zero()) {
      if (flags.deadline - clock->now() <= latency) {
        if (flags.deadline > clock->now()) clock->set(flags.deadline);
        AnswerType late;
        late.error = svcres::Errc::deadline_exceeded;
        late.packets = 1;
        return late;
      }
      clock->advance(latency);
    }
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
