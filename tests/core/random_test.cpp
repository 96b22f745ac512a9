#include <array>

#include "svcres/core/random.hpp"
#include "test.hpp"

TEST_CASE("Rng is deterministic per seed and roughly uniform", "[random]") {
  svcres::Rng a(42), b(42), c(43);
  CHECK(a() == b());
  CHECK(a() != c());
  std::array<int, 10> bins{};
  const int n = 100000;
  for (int i = 0; i < n; ++i) ++bins[a.below(10)];
  // Chi-square with 9 degrees of freedom; 27.88 is the p = 0.001 critical value.
  double chi = 0;
  for (int x : bins) chi += (x - n / 10.0) * (x - n / 10.0) / (n / 10.0);
  CHECK(chi < 27.88);
  for (int i = 0; i < 1000; ++i) {
    double u = a.unit();
    CHECK(u >= 0.0);
    CHECK(u < 1.0);
  }
}
