#pragma once
// The bootstrap's settings, from the function's environment variables (Lambda passes configuration
// that way). Every variable is optional.
//
//   SVCRES_BACKEND             service name to call (a DNS name,    user-service.local
//                              253 characters and a final dot at most)
//   SVCRES_BACKEND_PATH        HTTP path on the backend              /
//   SVCRES_BACKEND_METHOD      POST (the event is the body) or GET   POST
//   SVCRES_BACKEND_PORT        set: call A records on this port (default: SRV gives the ports)
//   SVCRES_RESOLV_CONF         resolver configuration file           /etc/resolv.conf
//   SVCRES_NAMESERVER          "ip:port[,ip:port...]": replaces the file's nameservers
//   SVCRES_POLICY              least_request | round_robin | weighted_srv | peak_ewma
//   SVCRES_MAX_TRIES           tries per invocation, first included  3
//   SVCRES_TRY_TIMEOUT_MS      per-try timeout                       2000
//   SVCRES_DEADLINE_MARGIN_MS  kept free before Lambda's deadline    300
//   AWS_LAMBDA_FUNCTION_NAME   set by Lambda; the EMF DiscoveryName  svcres-lambda

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/escape.hpp"
#include "svcres/core/errc.hpp"
#include "svcres/dns/name.hpp"

namespace svcres_examples {
namespace lambda {

enum class PolicyKind { least_request, round_robin, weighted_srv, peak_ewma };

inline const char* to_string(PolicyKind p) noexcept {
  switch (p) {
    case PolicyKind::least_request: return "least_request";
    case PolicyKind::round_robin: return "round_robin";
    case PolicyKind::weighted_srv: return "weighted_srv";
    case PolicyKind::peak_ewma: return "peak_ewma";
  }
  return "?";
}

// A configuration value quoted in an error: \DDD for unprintable bytes, at most 64 of them.
inline std::string shown_value(std::string_view v) { return escaped(v, 64); }

// The backend name must be a DNS name: RFC 1035 §2.3.4 allows 255 bytes in wire form, so 253
// characters of text and an optional final dot. A longer value is refused here, where it is a
// configuration error, rather than cut (and another name resolved) or refused later as a DNS failure.
inline bool check_backend_name(const std::string& name, std::string& error) {
  constexpr std::size_t max_text = 253;
  const std::size_t text = !name.empty() && name.back() == '.' ? name.size() - 1 : name.size();
  if (text > max_text) {
    error = "SVCRES_BACKEND is " + std::to_string(name.size()) + " characters long (\"" + shown_value(name) +
            "\"); a DNS name has at most " + std::to_string(max_text) + " and a final dot (RFC 1035 §2.3.4)";
    return false;
  }
  svcres::dns::Name parsed;
  if (svcres::Errc e = svcres::dns::Name::from_text(name).get(parsed); e != svcres::Errc::ok) {
    error = "SVCRES_BACKEND=\"" + shown_value(name) + "\" is not a DNS name: " + svcres::to_string(e);
    return false;
  }
  if (name == "." || parsed.wire_size() <= 1) {
    error = "SVCRES_BACKEND names the DNS root, not a service";
    return false;
  }
  return true;
}

struct Config {
  std::string backend = "user-service.local";
  std::string path = "/";
  std::string method = "POST";
  std::uint16_t backend_port = 80;
  bool backend_port_set = false;  // SVCRES_BACKEND_PORT given: query A records
  std::string resolv_conf = "/etc/resolv.conf";
  std::string nameservers;  // empty: those of resolv_conf
  PolicyKind policy = PolicyKind::least_request;
  unsigned max_tries = 3;
  std::chrono::milliseconds try_timeout{2000};
  std::chrono::milliseconds deadline_margin{300};
  std::string function_name = "svcres-lambda";

  // Reads the environment; a malformed value is a start-up error (`error` says which), because a
  // function that silently ignores its configuration is worse than one that fails to start.
  static bool from_env(Config& c, std::string& error) {
    auto str = [](const char* name, std::string& out) {
      if (const char* v = std::getenv(name); v && *v) out = v;
    };
    auto num = [&](const char* name, unsigned long lo, unsigned long hi, unsigned long& out) {
      const char* v = std::getenv(name);
      if (!v || !*v) return true;
      char* end = nullptr;
      unsigned long x = std::strtoul(v, &end, 10);
      if (*end != '\0' || x < lo || x > hi || v[0] == '-') {
        error = std::string(name) + "=" + v + " is not a number in " + std::to_string(lo) + ".." + std::to_string(hi);
        return false;
      }
      out = x;
      return true;
    };
    str("SVCRES_BACKEND", c.backend);
    str("SVCRES_BACKEND_PATH", c.path);
    str("SVCRES_BACKEND_METHOD", c.method);
    str("SVCRES_RESOLV_CONF", c.resolv_conf);
    str("SVCRES_NAMESERVER", c.nameservers);
    str("AWS_LAMBDA_FUNCTION_NAME", c.function_name);
    if (!check_backend_name(c.backend, error)) return false;
    if (c.path.empty() || c.path[0] != '/') {
      error = "SVCRES_BACKEND_PATH must start with '/'";
      return false;
    }
    if (c.method != "GET" && c.method != "POST") {
      error = "SVCRES_BACKEND_METHOD must be GET or POST";
      return false;
    }
    unsigned long port = c.backend_port, tries = c.max_tries, timeout = static_cast<unsigned long>(c.try_timeout.count()),
                  margin = static_cast<unsigned long>(c.deadline_margin.count());
    if (!num("SVCRES_BACKEND_PORT", 1, 65535, port) || !num("SVCRES_MAX_TRIES", 1, 10, tries) ||
        !num("SVCRES_TRY_TIMEOUT_MS", 1, 900000, timeout) || !num("SVCRES_DEADLINE_MARGIN_MS", 0, 60000, margin))
      return false;
    c.backend_port = static_cast<std::uint16_t>(port);
    c.backend_port_set = std::getenv("SVCRES_BACKEND_PORT") && *std::getenv("SVCRES_BACKEND_PORT");
    c.max_tries = static_cast<unsigned>(tries);
    c.try_timeout = std::chrono::milliseconds(timeout);
    c.deadline_margin = std::chrono::milliseconds(margin);
    if (const char* p = std::getenv("SVCRES_POLICY"); p && *p) {
      std::string v = p;
      if (v == "least_request") c.policy = PolicyKind::least_request;
      else if (v == "round_robin") c.policy = PolicyKind::round_robin;
      else if (v == "weighted_srv") c.policy = PolicyKind::weighted_srv;
      else if (v == "peak_ewma") c.policy = PolicyKind::peak_ewma;
      else {
        error = "SVCRES_POLICY=" + v + " is not one of least_request, round_robin, weighted_srv, peak_ewma";
        return false;
      }
    }
    return true;
  }
};

}  // namespace lambda
}  // namespace svcres_examples
