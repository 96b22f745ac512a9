#pragma once
// Shared by the resolver's integration and fault tests: endpoint sets compared as text, and the
// three tasks of user-service.local in the test zones.
#include <set>
#include <string>

#include "svcres/core/endpoint.hpp"
#include "svcres/core/fixed_vector.hpp"

namespace svcres_test {
inline std::set<std::string> texts(const svcres::FixedVector<svcres::Endpoint, 64>& eps) {
  std::set<std::string> out;
  for (const auto& e : eps) out.insert(std::string(to_text(e).view()));
  return out;
}
inline const std::set<std::string> user_service = {"127.0.2.10:8080", "127.0.2.11:8080", "127.0.2.12:8080"};
}  // namespace svcres_test
