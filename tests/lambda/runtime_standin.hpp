#pragma once
// A stand-in for the AWS Lambda Runtime API (2018-06-01) on loopback, written from the documented
// protocol. It hands out invocations the test queues and CHECKS everything the runtime sends:
// method and path, the Host header, request ids that match the invocation in flight, one result per
// invocation, init errors only before the first /next, error documents that are JSON objects with
// string errorMessage and errorType plus the Lambda-Runtime-Function-Error-Type header, and no
// GET /next while an invocation is still unanswered. Every breach is recorded as a violation
// sentence; the tests require the list to be empty.

#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "common/http_server.hpp"
#include "mini_json.hpp"

namespace lambda_test {

namespace http = svcres_examples::http;
using Clock = std::chrono::steady_clock;

inline std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Invocation {
  std::string id;
  std::string event = "{}";
  std::int64_t deadline_ms = 0;  // 0: now + 30 s when handed out
  std::string trace_id = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1";
  std::string raw_reply;  // when set: sent instead of a well-formed /next reply (bad-input tests)
  bool chunked = false;   // send the event with chunked framing
  bool expect_result = true;  // false for a broken reply that names no invocation
};

struct Result {
  std::string id;
  bool is_error = false;
  std::string body;
  std::string error_type_header;  // Lambda-Runtime-Function-Error-Type
  std::string error_type;         // errorType in the JSON document
  std::string error_message;      // errorMessage
  Clock::time_point at;
  std::int64_t at_unix_ms = 0;
};

class RuntimeApiStandin {
 public:
  explicit RuntimeApiStandin(svcres::Endpoint bind_to)
      : server_(bind_to, [this](const http::Request& r, const http::ConnectionInfo& c, http::Reply& out) {
          handle(r, c, out);
        }) {}
  ~RuntimeApiStandin() { server_.stop(); }  // before the members the handler reads go away

  http::Status start() { return server_.start(); }
  void stop() { server_.stop(); }
  svcres::Endpoint endpoint() const { return server_.endpoint(); }
  std::string address() const { return std::string(svcres::to_text(server_.endpoint()).view()); }

  void push(Invocation inv) {
    {
      auto lock = server_.lock();
      queue_.push_back(std::move(inv));
    }
    server_.notify();
  }

  // Waits for the result of invocation `id`; false on timeout.
  bool wait_result(const std::string& id, Clock::duration timeout, Result& out) {
    auto until = Clock::now() + timeout;
    for (;;) {
      {
        auto lock = server_.lock();
        auto it = results_.find(id);
        if (it != results_.end()) {
          out = it->second;
          return true;
        }
      }
      if (Clock::now() >= until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // Waits until the runtime has asked for work `n` times in total.
  bool wait_next_count(std::size_t n, Clock::duration timeout) {
    auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      {
        auto lock = server_.lock();
        if (next_calls_ >= n) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  // Waits until every queued invocation was handed out and the runtime is back at GET /next, i.e.
  // done with all of them (its EMF lines are written before it asks again).
  bool wait_idle(Clock::duration timeout) {
    auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      {
        auto lock = server_.lock();
        if (queue_.empty() && next_calls_ == popped_ + 1) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  bool wait_init_error(Clock::duration timeout, Result& out) {
    auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      {
        auto lock = server_.lock();
        if (!init_errors_.empty()) {
          out = init_errors_.front();
          return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  std::vector<std::string> violations() {
    auto lock = server_.lock();
    return violations_;
  }
  std::size_t next_calls() {
    auto lock = server_.lock();
    return next_calls_;
  }
  Clock::time_point first_next_at() {
    auto lock = server_.lock();
    return first_next_;
  }
  std::size_t connections() const { return server_.connections_accepted(); }

 private:
  static constexpr const char* kPrefix = "/2018-06-01/runtime/";

  void violation(std::string what) { violations_.push_back(std::move(what)); }

  void handle(const http::Request& req, const http::ConnectionInfo&, http::Reply& out) {
    std::string target = req.target;
    if (target.rfind(kPrefix, 0) != 0) {
      auto lock = server_.lock();
      violation("request outside " + std::string(kPrefix) + ": " + req.method + " " + target);
      out.response.status = 404;
      return;
    }
    std::string rest = target.substr(std::string(kPrefix).size());
    if (rest == "invocation/next") return next(req, out);
    if (rest == "init/error") return post_error(req, "", true, out);
    const std::string inv = "invocation/";
    if (rest.rfind(inv, 0) == 0) {
      std::string tail = rest.substr(inv.size());
      std::size_t slash = tail.find('/');
      if (slash != std::string::npos) {
        std::string id = tail.substr(0, slash), what = tail.substr(slash + 1);
        if (what == "response") return post_response(req, id, out);
        if (what == "error") return post_error(req, id, false, out);
      }
    }
    auto lock = server_.lock();
    violation("unknown Runtime API path " + req.method + " " + target);
    out.response.status = 404;
  }

  void next(const http::Request& req, http::Reply& out) {
    Invocation inv;
    {
      auto lock = server_.lock();
      if (req.method != "GET") violation("/next with method " + req.method);
      if (!req.body.empty()) violation("/next with a body");
      if (!in_flight_.empty()) violation("GET /next while invocation " + in_flight_ + " is unanswered");
      if (next_calls_++ == 0) first_next_ = Clock::now();
    }
    if (!server_.wait_until([this] { return !queue_.empty(); })) {
      out.drop = true;  // stopping
      return;
    }
    {
      auto lock = server_.lock();
      inv = std::move(queue_.front());
      queue_.pop_front();
      ++popped_;
      if (inv.expect_result) {
        in_flight_ = inv.id;
        handed_out_[inv.id] = true;
      }
    }
    if (!inv.raw_reply.empty()) {
      out.raw = inv.raw_reply;
      return;
    }
    if (inv.deadline_ms == 0) inv.deadline_ms = unix_ms_now() + 30000;
    http::Response& r = out.response;
    r.headers.add("Content-Type", "application/json");
    r.headers.add("Lambda-Runtime-Aws-Request-Id", inv.id);
    r.headers.add("Lambda-Runtime-Deadline-Ms", std::to_string(inv.deadline_ms));
    r.headers.add("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:svcres-test");
    r.headers.add("Lambda-Runtime-Trace-Id", inv.trace_id);
    r.body = std::move(inv.event);
    r.chunked_body = inv.chunked;
  }

  // Checks the id belongs to the invocation in flight and records one result for it.
  bool accept_result(const std::string& id, const char* kind) {
    if (!handed_out_.count(id)) {
      violation(std::string(kind) + " for unknown request id " + id);
      return false;
    }
    if (results_.count(id)) {
      violation(std::string(kind) + " for " + id + " which already has a result");
      return false;
    }
    if (in_flight_ != id) violation(std::string(kind) + " for " + id + " but the invocation in flight is " + in_flight_);
    in_flight_.clear();
    return true;
  }

  void post_response(const http::Request& req, const std::string& id, http::Reply& out) {
    auto lock = server_.lock();
    if (req.method != "POST") violation("response with method " + req.method);
    if (req.body.size() > 6 * 1024 * 1024) {
      out.response.status = 413;
      out.response.body = "{\"errorMessage\":\"Exceeded maximum allowed payload size\",\"errorType\":\"RequestEntityTooLarge\"}";
      return;
    }
    if (!accept_result(id, "response")) {
      out.response.status = 400;
      return;
    }
    Result r;
    r.id = id;
    r.body = req.body;
    r.at = Clock::now();
    r.at_unix_ms = unix_ms_now();
    results_[id] = r;
    out.response.status = 202;
    out.response.body = "{\"status\":\"OK\"}";
  }

  void post_error(const http::Request& req, const std::string& id, bool init, http::Reply& out) {
    auto lock = server_.lock();
    if (req.method != "POST") violation("error post with method " + req.method);
    Result r;
    r.id = id;
    r.is_error = true;
    r.body = req.body;
    r.at = Clock::now();
    r.at_unix_ms = unix_ms_now();
    const std::string* et = req.headers.find("Lambda-Runtime-Function-Error-Type");
    if (!et || et->empty())
      violation("error post without Lambda-Runtime-Function-Error-Type");
    else
      r.error_type_header = *et;
    svcres_test::Json doc;
    if (!svcres_test::parse_json(req.body, doc) || doc.kind != svcres_test::Json::Kind::object) {
      violation("error body is not a JSON object: " + req.body.substr(0, 200));
    } else if (doc["errorMessage"].kind != svcres_test::Json::Kind::string ||
               doc["errorType"].kind != svcres_test::Json::Kind::string) {
      violation("error body lacks string errorMessage/errorType: " + req.body.substr(0, 200));
    } else {
      r.error_message = doc["errorMessage"].str;
      r.error_type = doc["errorType"].str;
    }
    if (init) {
      if (next_calls_ != 0) violation("init/error after the first GET /next");
      init_errors_.push_back(r);
      out.response.status = 202;
      return;
    }
    if (!accept_result(id, "error")) {
      out.response.status = 400;
      return;
    }
    results_[id] = r;
    out.response.status = 202;
    out.response.body = "{\"status\":\"OK\"}";
  }

  http::Server server_;
  // Guarded by the server's mutex (server_.lock()).
  std::deque<Invocation> queue_;
  std::map<std::string, bool> handed_out_;
  std::map<std::string, Result> results_;
  std::vector<Result> init_errors_;
  std::vector<std::string> violations_;
  std::string in_flight_;
  std::size_t next_calls_ = 0;
  std::size_t popped_ = 0;
  Clock::time_point first_next_{};
};

}  // namespace lambda_test
