#pragma once
// One HTTP GET as a Service::call() try: keep-alive clients per thread and endpoint, and the
// mapping from the HTTP layer's errors to svcres::TryOutcome.

#include <map>
#include <memory>
#include <string>

#include "common/http_client.hpp"
#include "svcres/service/outcome.hpp"

namespace svcres_cli {

inline svcres::TryOutcome http_try(const svcres::Endpoint& ep, svcres::TimePoint deadline,
                                   const std::string& path = "/") {
  namespace http = svcres_examples::http;
  // One client per endpoint per thread: Client is single-threaded and keeps its connection alive.
  thread_local std::map<std::string, std::unique_ptr<http::Client>> clients;
  const std::string key(svcres::to_text(ep).view());
  auto& c = clients[key];
  if (!c) c = std::make_unique<http::Client>(ep);
  http::Request req;
  req.target = path;
  http::Response resp;
  http::Status s = c->request(req, deadline, resp);
  if (s.ok()) return svcres::TryOutcome::http(static_cast<std::uint16_t>(resp.status));
  const bool connecting = s.message.find("connect ") != std::string::npos;
  if (s.code == svcres::Errc::connection_refused || (connecting && s.code != svcres::Errc::timeout))
    return svcres::TryOutcome::connect_failure();
  if (s.code == svcres::Errc::timeout) return connecting ? svcres::TryOutcome::connect_failure() : svcres::TryOutcome::timeout();
  return svcres::TryOutcome::failure();
}

}  // namespace svcres_cli
