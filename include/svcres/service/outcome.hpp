#pragma once
// TryOutcome: how one try against one endpoint ended, as the caller reports it to a Lease.
//
//   ok               a response arrived (any HTTP status; 0 = not HTTP)
//   connect_failure  the connection could not be made (refused, unreachable, reset before sending)
//   timeout          no complete response before the per-try deadline
//   failure          anything else (reset mid-response, malformed reply, a lease dropped unfinished)
//
// For the endpoint's health (outlier ejection, as Envoy's consecutive_5xx) a response with a 5xx
// status is a failure and a 4xx is a success: a 404 says the request was wrong, not the host.

#include <cstdint>

namespace svcres {

enum class TryKind : std::uint8_t { ok, connect_failure, timeout, failure };

constexpr const char* to_string(TryKind k) noexcept {
  switch (k) {
    case TryKind::ok: return "ok";
    case TryKind::connect_failure: return "connect failure";
    case TryKind::timeout: return "timeout";
    case TryKind::failure: return "failure";
  }
  return "failure";
}

struct TryOutcome {
  TryKind kind = TryKind::ok;
  std::uint16_t http_status = 0;  // 0: none (not HTTP, or no response)

  static constexpr TryOutcome success(std::uint16_t status = 0) noexcept { return {TryKind::ok, status}; }
  static constexpr TryOutcome http(std::uint16_t status) noexcept { return {TryKind::ok, status}; }
  static constexpr TryOutcome connect_failure() noexcept { return {TryKind::connect_failure, 0}; }
  static constexpr TryOutcome timeout() noexcept { return {TryKind::timeout, 0}; }
  static constexpr TryOutcome failure(std::uint16_t status = 0) noexcept { return {TryKind::failure, status}; }

  // What the endpoint's health statistics count as a success.
  constexpr bool endpoint_ok() const noexcept { return kind == TryKind::ok && http_status < 500; }
  // What call() reports as a good result (the same rule).
  constexpr bool good() const noexcept { return endpoint_ok(); }
};

}  // namespace svcres
