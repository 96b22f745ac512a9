#include <string>

#include "svcres/dns/name.hpp"
#include "test.hpp"

using svcres::Errc;
using svcres::dns::Name;

TEST_CASE("Name from text and back", "[dns][name]") {
  auto n = Name::from_text("User-Service.local");
  REQUIRE(n.ok());
  CHECK(n->label_count() == 2);
  CHECK(n->wire_size() == 1 + 12 + 1 + 5 + 1);
  CHECK(std::string(n->to_text().view()) == "User-Service.local.");
  auto same = Name::from_text("user-service.LOCAL.");
  REQUIRE(same.ok());
  CHECK(*n == *same);
  CHECK_FALSE(n->equals_exact(*same));
  CHECK(n->equals_exact(*Name::from_text("User-Service.local.")));
}

TEST_CASE("Name root and escapes", "[dns][name]") {
  auto root = Name::from_text(".");
  REQUIRE(root.ok());
  CHECK(root->is_root());
  CHECK(std::string(root->to_text().view()) == ".");
  auto esc = Name::from_text("a\\.b\\032c\\\\.d");
  REQUIRE(esc.ok());
  CHECK(esc->label_count() == 2);
  CHECK(esc->wire()[0] == 6);
  CHECK(std::string(esc->to_text().view()) == "a\\046b\\032c\\092.d.");
  CHECK(Name::from_text(std::string(esc->to_text().view()))->equals_exact(*esc));
}

TEST_CASE("Name text errors", "[dns][name]") {
  CHECK(Name::from_text("").error() == Errc::bad_name_text);
  CHECK(Name::from_text("a..b").error() == Errc::bad_name_text);
  CHECK(Name::from_text(".a").error() == Errc::bad_name_text);
  CHECK(Name::from_text("a\\25").error() == Errc::bad_name_text);
  CHECK(Name::from_text("a\\256").error() == Errc::bad_name_text);
  CHECK(Name::from_text("a\\").error() == Errc::bad_name_text);
  CHECK(Name::from_text(std::string(63, 'x')).ok());
  CHECK(Name::from_text(std::string(64, 'x')).error() == Errc::label_too_long);
  // 4 labels of 63 = 4 * 64 + 1 = 257 wire bytes
  std::string l(63, 'y');
  CHECK(Name::from_text(l + "." + l + "." + l + "." + l).error() == Errc::name_too_long);
  // 3 * 64 + 62 + 1 = 255: the longest legal name
  CHECK(Name::from_text(l + "." + l + "." + l + "." + std::string(61, 'z')).ok());
  CHECK(Name::from_text(l + "." + l + "." + l + "." + std::string(62, 'z')).error() == Errc::name_too_long);
}

TEST_CASE("Name concat and subdomain", "[dns][name]") {
  auto svc = Name::from_text("user-service").value();
  auto zone = Name::from_text("local.").value();
  auto full = svc.concat(zone);
  REQUIRE(full.ok());
  CHECK(*full == Name::from_text("user-service.local").value());
  CHECK(full->is_subdomain_of(zone));
  CHECK(full->is_subdomain_of(Name()));
  CHECK(full->is_subdomain_of(*full));
  CHECK_FALSE(zone.is_subdomain_of(*full));
  CHECK_FALSE(Name::from_text("xlocal").value().is_subdomain_of(zone));
}

TEST_CASE("Name 0x20 randomisation keeps the name", "[dns][name]") {
  svcres::Rng rng(7);
  auto n = Name::from_text("abcdefghijklmnopqrstuvwxyz.service-1.local").value();
  auto orig = n;
  svcres::dns::randomize_case(n, rng);
  CHECK(n == orig);
  CHECK_FALSE(n.equals_exact(orig));  // 2^-33 chance of a false failure with a fixed seed: none
}
