#pragma once
// Helpers for the balance tests: endpoint sets and a chi-square goodness-of-fit check.
#include <cmath>
#include <cstddef>
#include <vector>

#include "svcres/core/endpoint.hpp"

namespace balance_test {

inline svcres::Endpoint ep(std::uint8_t last, std::uint16_t port = 80, std::uint16_t prio = 0, std::uint16_t weight = 1) {
  svcres::Endpoint e;
  e.address = svcres::IpAddress::v4(10, 0, static_cast<std::uint8_t>(port & 0xff), last);
  e.port = port;
  e.priority = prio;
  e.weight = weight;
  return e;
}

// Chi-square statistic of observed counts against expected probabilities (cells with p = 0 must be 0).
inline double chi_square(const std::vector<long>& observed, const std::vector<double>& p) {
  long total = 0;
  for (long o : observed) total += o;
  double chi = 0;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    if (p[i] == 0) {
      if (observed[i] != 0) return 1e300;
      continue;
    }
    double e = p[i] * static_cast<double>(total);
    chi += (observed[i] - e) * (observed[i] - e) / e;
  }
  return chi;
}

// Critical value at p = 0.001 (Wilson-Hilferty approximation, within 1 % for df >= 3).
inline double chi_critical(std::size_t df) {
  double k = static_cast<double>(df);
  double t = 1 - 2 / (9 * k) + 3.0902 * std::sqrt(2 / (9 * k));
  return k * t * t * t;
}

}  // namespace balance_test
