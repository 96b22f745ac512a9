#pragma once
// A stand-in ECS task for tests and demos: an HTTP server on one address that answers every request
// in one of three ways, switchable at run time:
//   healthy  200 with a JSON body naming the task, the request and a running count
//   failing  503 Service Unavailable (what a task behind a draining or broken app returns)
//   slow     waits `delay` before answering 200 (a hung task when delay exceeds the caller's timeout)
// The body names the task so a caller (and a test) can see which task served a request.

#include <atomic>
#include <string>

#include "common/http_server.hpp"
#include "common/json.hpp"

namespace svcres_examples {

class BackendServer {
 public:
  enum class Mode { healthy, failing, slow };

  BackendServer(svcres::Endpoint bind_to, Mode mode, svcres::Duration delay = std::chrono::seconds(30))
      : mode_(mode), delay_(delay), server_(bind_to, [this](const http::Request& req, const http::ConnectionInfo&,
                                                             http::Reply& reply) { handle(req, reply); }) {}
  ~BackendServer() { server_.stop(); }

  http::Status start() { return server_.start(); }
  void stop() { server_.stop(); }
  const svcres::Endpoint& endpoint() const noexcept { return server_.endpoint(); }
  std::string name() const { return std::string(svcres::to_text(server_.endpoint()).view()); }

  void set_mode(Mode m) noexcept { mode_.store(m, std::memory_order_relaxed); }
  std::size_t hits() const noexcept { return hits_.load(std::memory_order_relaxed); }

 private:
  void handle(const http::Request& req, http::Reply& reply) {
    std::size_t n = hits_.fetch_add(1, std::memory_order_relaxed) + 1;
    Mode m = mode_.load(std::memory_order_relaxed);
    if (m == Mode::slow && !server_.wait_for(delay_)) {
      reply.drop = true;  // stopping
      return;
    }
    http::Response& r = reply.response;
    r.headers.add("Content-Type", "application/json");
    r.headers.add("X-Task", name());
    if (m == Mode::failing) {
      r.status = 503;
      r.body = "{\"task\":\"" + name() + "\",\"error\":\"unavailable\"}";
      return;
    }
    r.status = 200;
    r.body = "{\"task\":" + json::quote(name()) + ",\"method\":" + json::quote(req.method) +
             ",\"path\":" + json::quote(req.target) + ",\"count\":" + std::to_string(n) + ",\"request_bytes\":" + std::to_string(req.body.size()) + "}";
  }

  std::atomic<Mode> mode_;
  svcres::Duration delay_;
  std::atomic<std::size_t> hits_{0};
  http::Server server_;
};

}  // namespace svcres_examples
