#pragma once
// Include this instead of a Catch2 header: it picks the v3 headers when present, v2 otherwise.
#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#else
#include <catch2/catch.hpp>
#endif

#include <cstdlib>
#include <string>

namespace svcres_test {
// Where tests/data lives, injected by CMake so tests run from any working directory.
inline std::string data_dir() {
#ifdef SVCRES_TEST_DATA_DIR
  return SVCRES_TEST_DATA_DIR;
#else
  return "tests/data";
#endif
}
}  // namespace svcres_test
