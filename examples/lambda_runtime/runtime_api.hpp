#pragma once
// Client for the AWS Lambda Runtime API, version 2018-06-01, over the examples' HTTP/1.1 layer.
//
//   GET  /2018-06-01/runtime/invocation/next            -> 200, event body + Lambda-Runtime-* headers
//   POST /2018-06-01/runtime/invocation/{id}/response   -> 202 (413 when the payload is too large)
//   POST /2018-06-01/runtime/invocation/{id}/error      -> 202; JSON {"errorMessage","errorType"}
//   POST /2018-06-01/runtime/init/error                 -> 202; only before the first /next
// Errors carry the header Lambda-Runtime-Function-Error-Type. A 500 from any of them means the
// runtime must exit (the documented "container error").
//
// GET /next has no timeout: between invocations the execution environment may be frozen for any
// length of time, and a client-side timer would fire wrongly on thaw. One keep-alive connection
// carries every call, as the Runtime API allows.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/http_client.hpp"
#include "common/json.hpp"

namespace svcres_examples {
namespace lambda {

using http::Status;
using svcres::Errc;

// Lambda's synchronous invocation payload limit (request and response): 6 MB.
inline constexpr std::size_t kMaxPayloadBytes = 6 * 1024 * 1024;

struct Invocation {
  std::string request_id;        // Lambda-Runtime-Aws-Request-Id
  std::int64_t deadline_ms = 0;  // Lambda-Runtime-Deadline-Ms: Unix time in ms when the function times out
  std::string function_arn;      // Lambda-Runtime-Invoked-Function-Arn
  std::string trace_id;          // Lambda-Runtime-Trace-Id (X-Ray), exported as _X_AMZN_TRACE_ID
  std::string client_context;    // Lambda-Runtime-Client-Context (mobile SDK), may be empty
  std::string cognito_identity;  // Lambda-Runtime-Cognito-Identity, may be empty
  std::string event;             // the payload
};

// What next() learned when it failed: if the reply carried a usable request id, the invocation
// exists on Lambda's side and must be answered with an error; otherwise there is nothing to answer.
struct NextFailure {
  Status status;
  std::string request_id;  // empty when the reply was unusable before the id could be read
  std::string error_type;  // e.g. "Runtime.MalformedInvocation"
};

namespace detail {
// Request ids go into a URL path: accept only what Lambda produces (UUID-like tokens), so a hostile
// or broken reply cannot steer our POST to another path.
inline bool safe_request_id(const std::string& id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.';
    if (!ok) return false;
  }
  return true;
}
}  // namespace detail

class RuntimeClient {
 public:
  static constexpr const char* kVersion = "/2018-06-01";

  explicit RuntimeClient(svcres::Endpoint api) : http_(api) {
    http_.limits().max_body_bytes = kMaxPayloadBytes;
    http_.limits().max_head_bytes = 64 * 1024;  // client context and cognito identity can be a few KB
  }

  // AWS_LAMBDA_RUNTIME_API is "host:port" with a numeric host (127.0.0.1:9001 on Lambda). Names are
  // refused: resolving one would pull in NSS, which a static bootstrap must not depend on.
  static svcres::Result<svcres::Endpoint> endpoint_from_env(const char* value) {
    if (!value || !*value) return Errc::invalid_argument;
    return svcres::Endpoint::parse(value);
  }

  std::size_t connects() const noexcept { return http_.connects(); }

  // Blocks until Lambda hands out the next invocation. On failure fills `failure`.
  bool next(Invocation& out, NextFailure& failure) {
    http::Request req;
    req.method = "GET";
    req.target = std::string(kVersion) + "/runtime/invocation/next";
    http::Response res;
    Status s = http_.request(req, http::kNoDeadline, res);
    failure = NextFailure{};
    const std::string* id = res.headers.find("Lambda-Runtime-Aws-Request-Id");
    if (id && detail::safe_request_id(*id)) failure.request_id = *id;
    if (!s) {
      failure.status = s;
      // Header lines are kept as they parse, so a reply that broke later (a bad header after the id,
      // a refused or cut body) still names its invocation, and that invocation gets an error.
      failure.error_type = s.code == Errc::capacity_exceeded ? "Runtime.EventTooLarge" : "Runtime.MalformedInvocation";
      return false;
    }
    if (res.status != 200) {
      failure.status = {Errc::http_error, "GET /next answered " + std::to_string(res.status) + " " + res.reason +
                                              ": " + json::truncate(res.body, 200)};
      failure.error_type = "Runtime.MalformedInvocation";
      failure.request_id.clear();
      return false;
    }
    if (!id) return fail(failure, "GET /next reply has no Lambda-Runtime-Aws-Request-Id header");
    if (failure.request_id.empty()) return fail(failure, "unusable Lambda-Runtime-Aws-Request-Id " + json::quote(*id));
    const std::string* deadline = res.headers.find("Lambda-Runtime-Deadline-Ms");
    std::uint64_t ms = 0;
    if (!deadline || !http::detail::parse_u64(*deadline, ms) || ms == 0)
      return fail(failure, std::string("missing or malformed Lambda-Runtime-Deadline-Ms ") +
                               (deadline ? json::quote(*deadline) : std::string("(absent)")));
    out = Invocation{};
    out.request_id = *id;
    out.deadline_ms = static_cast<std::int64_t>(ms);
    if (const std::string* v = res.headers.find("Lambda-Runtime-Invoked-Function-Arn")) out.function_arn = *v;
    if (const std::string* v = res.headers.find("Lambda-Runtime-Trace-Id")) out.trace_id = *v;
    if (const std::string* v = res.headers.find("Lambda-Runtime-Client-Context")) out.client_context = *v;
    if (const std::string* v = res.headers.find("Lambda-Runtime-Cognito-Identity")) out.cognito_identity = *v;
    out.event = std::move(res.body);
    // X-Ray SDKs read the trace header from the environment; it changes with every invocation.
    if (out.trace_id.empty())
      ::unsetenv("_X_AMZN_TRACE_ID");
    else
      ::setenv("_X_AMZN_TRACE_ID", out.trace_id.c_str(), 1);
    return true;
  }

  Status post_response(const std::string& request_id, const std::string& body,
                       const char* content_type = "application/json") {
    http::Request req;
    req.method = "POST";
    req.target = std::string(kVersion) + "/runtime/invocation/" + request_id + "/response";
    req.headers.add("Content-Type", content_type);
    req.body = body;
    return send_expect_202(req);
  }

  Status post_error(const std::string& request_id, const std::string& error_type, const std::string& message) {
    return post_error_to(std::string(kVersion) + "/runtime/invocation/" + request_id + "/error", error_type, message);
  }

  Status post_init_error(const std::string& error_type, const std::string& message) {
    return post_error_to(std::string(kVersion) + "/runtime/init/error", error_type, message);
  }

  // The JSON error document Lambda expects (and shows the caller).
  static std::string error_body(const std::string& error_type, const std::string& message) {
    return "{\"errorMessage\":" + json::quote(message) + ",\"errorType\":" + json::quote(error_type) +
           ",\"stackTrace\":[]}";
  }

 private:
  static bool fail(NextFailure& f, std::string why) {
    f.status = {Errc::http_error, std::move(why)};
    f.error_type = "Runtime.MalformedInvocation";
    return false;
  }

  Status post_error_to(std::string target, const std::string& error_type, const std::string& message) {
    http::Request req;
    req.method = "POST";
    req.target = std::move(target);
    req.headers.add("Content-Type", "application/json");
    req.headers.add("Lambda-Runtime-Function-Error-Type", error_type);
    req.body = error_body(error_type, message);
    return send_expect_202(req);
  }

  Status send_expect_202(const http::Request& req) {
    http::Response res;
    // Posting a result is quick on a healthy Runtime API; 30 s bounds a wedged one without ever
    // cutting a real reply short.
    Status s = http_.request(req, std::chrono::steady_clock::now() + std::chrono::seconds(30), res);
    if (!s) return s;
    if (res.status != 202) {
      Errc code = res.status == 413 ? Errc::capacity_exceeded : Errc::http_error;
      return {code, req.method + " " + req.target + " answered " + std::to_string(res.status) + " " + res.reason +
                        ": " + json::truncate(res.body, 200)};
    }
    return {};
  }

  http::Client http_;
};

}  // namespace lambda
}  // namespace svcres_examples
