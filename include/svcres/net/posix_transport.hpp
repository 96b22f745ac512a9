#pragma once
// PosixTransport: the default Transport (see svcres/resolve/transport.hpp) over POSIX UDP and TCP
// sockets. Every UDP query goes out from a new kernel-chosen port; the transport keeps the last
// query's socket to recycle for the next (UdpSocketPool in udp.hpp). One instance may be used from
// several threads at once. A copy starts without a socket of its own.

#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "svcres/core/result.hpp"
#include "svcres/net/tcp.hpp"
#include "svcres/net/udp.hpp"
#include "svcres/resolve/transport.hpp"

namespace svcres {

class PosixTransport {
 public:
  Result<std::size_t> udp(const Exchange& x) const noexcept { return udp_exchange(x, pool_); }
  Result<std::size_t> tcp(const Exchange& x) const noexcept { return tcp_exchange(x); }
  // Changes across fork(): the resolver reseeds its query IDs when it does (transport.hpp).
  std::uint64_t process_tag() const noexcept { return static_cast<std::uint64_t>(::getpid()); }

 private:
  mutable UdpSocketPool pool_;  // bookkeeping only: it never changes what an exchange does
};

static_assert(is_transport_v<PosixTransport>, "PosixTransport must model the Transport concept.");

}  // namespace svcres
