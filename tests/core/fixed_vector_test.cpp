#include "svcres/core/fixed_vector.hpp"
#include "test.hpp"

TEST_CASE("FixedVector refuses to grow past capacity", "[fixed_vector]") {
  svcres::FixedVector<int, 3> v;
  CHECK(v.empty());
  CHECK(v.push_back(1));
  CHECK(v.push_back(2));
  CHECK(v.push_back(3));
  CHECK(v.full());
  CHECK_FALSE(v.push_back(4));
  CHECK(v.size() == 3);
  v.swap_remove(0);
  CHECK(v.size() == 2);
  CHECK(v[0] == 3);
  int sum = 0;
  for (int x : v) sum += x;
  CHECK(sum == 5);
  v.clear();
  CHECK(v.empty());
}
