#pragma once
// Answer<N>: what one resolution produced, by value and of fixed size (no heap): the endpoints, the
// TTL left, and how it was obtained. `error` is Errc::ok, or an authoritative negative answer
// (Errc::nxdomain, Errc::nodata: RFC 2308 §2), or why no answer could be had (timeout,
// server_failure, refused, connection_refused, cname_loop, ...). A stale answer (RFC 8767) has
// error == ok and stale == true.

#include <cstddef>
#include <cstdint>

#include "svcres/core/endpoint.hpp"
#include "svcres/core/errc.hpp"
#include "svcres/core/fixed_vector.hpp"
#include "svcres/dns/name.hpp"

namespace svcres {

template <std::size_t N>
struct Answer {
  Errc error = Errc::not_found;
  // A/AAAA: port 0 (the caller adds its own); SRV: address, port, priority, weight of each target.
  FixedVector<Endpoint, N> endpoints;
  std::uint32_t ttl = 0;          // seconds left; the smallest TTL of every record used (capped)
  dns::Name name;                 // the name that answered, after search-list expansion
  bool stale = false;             // served past its TTL because every server failed (RFC 8767)
  bool from_cache = false;
  bool authoritative = false;     // the AA bit of the final response
  bool overflow = false;          // more endpoints existed than N; the first N are kept
  std::uint32_t packets = 0;      // DNS queries this resolution sent (0 from cache)

  bool ok() const noexcept { return error == Errc::ok; }

  // Copies only the endpoints in use (the defaulted copy moves all N): the cache-hit path.
  void assign(const Answer& o) noexcept {
    error = o.error;
    endpoints.clear();
    for (const Endpoint& e : o.endpoints) (void)endpoints.push_back(e);
    ttl = o.ttl;
    name = o.name;
    stale = o.stale;
    from_cache = o.from_cache;
    authoritative = o.authoritative;
    overflow = o.overflow;
    packets = o.packets;
  }
  // Back to a default Answer without building one (that would construct all N endpoints).
  void reset() noexcept {
    error = Errc::not_found;
    endpoints.clear();
    ttl = 0;
    name = dns::Name();
    stale = from_cache = authoritative = overflow = false;
    packets = 0;
  }
  // nxdomain or nodata: the only outcomes allowed to empty a known endpoint set.
  bool authoritative_empty() const noexcept { return error == Errc::nxdomain || error == Errc::nodata; }
};

}  // namespace svcres
