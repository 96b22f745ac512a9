#include <memory>
#include <string>

#include "svcres/core/result.hpp"
#include "test.hpp"

using svcres::Errc;
using svcres::Result;

namespace {
// Counts live objects so the test can prove Result constructs and destroys exactly once.
struct Counted {
  static inline int live = 0;
  int v = 0;
  explicit Counted(int x) : v(x) { ++live; }
  Counted(const Counted& o) : v(o.v) { ++live; }
  Counted(Counted&& o) noexcept : v(o.v) { ++live; }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) = default;
  ~Counted() { --live; }
};
Result<int> half(int x) {
  if (x % 2) return Errc::invalid_argument;
  return x / 2;
}
}  // namespace

TEST_CASE("Result carries a value or an error", "[result]") {
  auto r = half(8);
  REQUIRE(r.ok());
  CHECK(*r == 4);
  int out = 0;
  CHECK(half(8).get(out) == Errc::ok);
  CHECK(out == 4);
  CHECK(half(3).get(out) == Errc::invalid_argument);
  CHECK(out == 4);  // untouched on error
  CHECK(half(3).value_or(-1) == -1);
  CHECK_FALSE(static_cast<bool>(half(3)));
}

TEST_CASE("Result constructs and destroys its value exactly once", "[result]") {
  {
    Result<Counted> a(Counted(1));
    Result<Counted> b = a;
    Result<Counted> c(Errc::timeout);
    c = b;
    CHECK(Counted::live == 3);
    c = Result<Counted>(Errc::timeout);
    CHECK(Counted::live == 2);
    Result<Counted> d(std::move(a));
    CHECK(d->v == 1);
  }
  CHECK(Counted::live == 0);
}

TEST_CASE("Result<void> is a status", "[result]") {
  svcres::Status ok;
  CHECK(ok.ok());
  svcres::Status bad(Errc::timeout);
  CHECK(bad.error() == Errc::timeout);
  CHECK(std::string(to_string(Errc::timeout)) == "timed out");
}

TEST_CASE("every Errc has a phrase", "[result]") {
  for (int i = 0; i <= static_cast<int>(Errc::http_error); ++i)
    CHECK(std::string(to_string(static_cast<Errc>(i))) != "unknown error");
}
