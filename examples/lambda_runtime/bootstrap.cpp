// bootstrap: an AWS Lambda custom runtime (provided.al2023) in C++ with svcres and the standard
// library only. At init it reads its configuration, logs the resolver configuration it found,
// resolves the backend once (failure: POST /runtime/init/error and exit), then serves invocations
// forever: GET /next, call the backend through svcres, POST the answer or a structured error, and
// print one EMF metrics line.
//
// Logs go to stderr, EMF lines to stdout; Lambda sends both to CloudWatch Logs.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "lambda_runtime/backend.hpp"
#include "lambda_runtime/backend_service.hpp"
#include "lambda_runtime/config.hpp"
#include "lambda_runtime/handler.hpp"
#include "lambda_runtime/runtime_api.hpp"

namespace lam = svcres_examples::lambda;

namespace {

void log_line(const std::string& s) {
  std::fprintf(stderr, "svcres-bootstrap: %s\n", s.c_str());
  std::fflush(stderr);
}

std::string describe(const svcres::ResolvConf& c, const std::string& source) {
  std::string s = "resolver configuration from " + source + ": nameservers";
  for (const svcres::NameServer& ns : c.nameservers) {
    svcres::Endpoint e;
    e.address = ns.address;
    e.port = ns.port;
    s += " " + std::string(svcres::to_text(e).view());
  }
  if (c.defaulted_nameserver()) s += " (default: none configured)";
  s += "; search";
  if (c.search.empty()) s += " (none)";
  for (const svcres::SearchDomain& d : c.search) s += " " + std::string(d.view());
  s += "; ndots " + std::to_string(c.ndots) + "; timeout " + std::to_string(c.timeout.count()) + " ms; attempts " +
       std::to_string(c.attempts) + "; rotate " + (c.rotate ? "yes" : "no") + "; edns0 " + (c.edns0 ? "yes" : "no") +
       "; use-vc " + (c.use_vc ? "yes" : "no");
  for (const svcres::ConfIssue& i : c.issues())
    s += "; skipped line " + std::to_string(i.line) + ": " + svcres::to_string(i.problem);
  return s;
}

// resolv.conf as parsed, with SVCRES_NAMESERVER replacing its servers when set.
bool load_resolver_conf(const lam::Config& cfg, svcres::ResolvConf& out, std::string& error) {
  std::string source = cfg.resolv_conf;
  auto loaded = svcres::ResolvConf::load(cfg.resolv_conf.c_str());
  if (loaded.ok()) {
    out = loaded.value();
  } else {
    out = svcres::ResolvConf::parse("");
    source += " (not readable, defaults)";
  }
  if (!cfg.nameservers.empty()) {
    out.nameservers.clear();
    std::size_t start = 0;
    while (start <= cfg.nameservers.size()) {
      std::size_t comma = cfg.nameservers.find(',', start);
      std::string item = cfg.nameservers.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) {
        svcres::Status s = out.add_nameserver(item);
        if (!s) {
          error = "SVCRES_NAMESERVER entry \"" + item + "\": " + svcres::to_string(s.error());
          return false;
        }
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (out.nameservers.empty()) {
      error = "SVCRES_NAMESERVER names no server";
      return false;
    }
    source += ", nameservers from SVCRES_NAMESERVER";
  }
  log_line(describe(out, source));
  return true;
}

// Milliseconds since t0 with one decimal, for the log.
std::string ms_since(std::chrono::steady_clock::time_point t0) {
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", ms);
  return buf;
}

}  // namespace

int main() {
  const auto started = std::chrono::steady_clock::now();
  const char* api_text = std::getenv("AWS_LAMBDA_RUNTIME_API");
  svcres::Endpoint api;
  if (lam::RuntimeClient::endpoint_from_env(api_text).get(api) != svcres::Errc::ok) {
    log_line(std::string("AWS_LAMBDA_RUNTIME_API must be a numeric host:port, got \"") + (api_text ? api_text : "") +
             "\"; nothing to report to, exiting");
    return 2;
  }
  lam::RuntimeClient runtime(api);
  auto init_fail = [&](const std::string& type, const std::string& message) {
    log_line("init failed: " + type + ": " + message);
    svcres_examples::http::Status s = runtime.post_init_error(type, message);
    if (!s) log_line("could not post the init error: " + s.text());
    return 1;
  };

  lam::Config cfg;
  std::string error;
  if (!lam::Config::from_env(cfg, error)) return init_fail("Runtime.InvalidConfiguration", error);
  svcres::ResolvConf conf;
  if (!load_resolver_conf(cfg, conf, error)) return init_fail("Runtime.InvalidConfiguration", error);
  log_line("backend " + cfg.backend + " path " + cfg.path + " method " + cfg.method + " policy " +
           lam::to_string(cfg.policy) + " tries " + std::to_string(cfg.max_tries) + " try timeout " +
           std::to_string(cfg.try_timeout.count()) + " ms, deadline margin " +
           std::to_string(cfg.deadline_margin.count()) + " ms");

  // The backend (resolver cache, endpoint table, balancer state, connections) lives for the whole
  // process: every invocation of this execution environment shares it.
  std::unique_ptr<lam::BackendBase> backend = lam::make_service_backend(cfg, conf);
  const auto warm_start = std::chrono::steady_clock::now();
  if (!backend->warm_up(error)) return init_fail("Runtime.ServiceDiscoveryFailed", error);
  const svcres::metrics::MetricsSnapshot warm = backend->metrics_snapshot();
  log_line("init: " + cfg.backend + " has " + std::to_string(warm.endpoints_known) + " endpoint(s), DNS " +
           ms_since(warm_start) + " ms over " + std::to_string(warm.dns_packets_sent) + " queries; ready after " +
           ms_since(started) + " ms");

  unsigned consecutive_failures = 0;
  for (;;) {
    lam::Invocation inv;
    lam::NextFailure failure;
    if (!runtime.next(inv, failure)) {
      log_line("GET /next failed: " + failure.status.text());
      if (!failure.request_id.empty()) {
        // The reply named an invocation: answer it with the error so the caller is not left waiting.
        consecutive_failures = 0;
        lam::HandlerOutput h = lam::refused(*backend, failure.error_type);
        svcres_examples::http::Status s = runtime.post_error(failure.request_id, failure.error_type, failure.status.text());
        if (!s) log_line("could not post the error for " + failure.request_id + ": " + s.text());
        lam::emit_line(lam::emf_line(cfg, failure.request_id, h));
        continue;
      }
      // Nothing to answer. The Runtime API going away means the environment is being shut down;
      // after ten failures in a row give up rather than spin.
      if (++consecutive_failures >= 10) {
        log_line("giving up after 10 consecutive failures of GET /next");
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20 * consecutive_failures));
      continue;
    }
    consecutive_failures = 0;
    lam::HandlerOutput h = lam::handle(inv, *backend, cfg);
    svcres_examples::http::Status s = h.ok ? runtime.post_response(inv.request_id, h.body)
                                           : runtime.post_error(inv.request_id, h.error_type, h.error_message);
    if (!s) {
      log_line("posting the result of " + inv.request_id + " failed: " + s.text());
      if (h.ok && s.code == svcres::Errc::capacity_exceeded) {
        h.ok = false;
        h.error_type = "Function.ResponseSizeTooLarge";
        (void)runtime.post_error(inv.request_id, h.error_type, s.text());
      }
    }
    if (!h.ok) log_line(inv.request_id + ": " + h.error_type + ": " + h.error_message);
    lam::emit_line(lam::emf_line(cfg, inv.request_id, h));
  }
}
