#pragma once
// PosixTransport: the default Transport (see svcres/resolve/transport.hpp) over POSIX UDP and TCP
// sockets. Every UDP query still goes out on its own fresh socket (a new kernel-chosen port); the
// transport keeps the next one ready and closes the last one while a reply is awaited (see
// UdpSocketPool in udp.hpp). One instance may be used from several threads at once. A copy starts
// without sockets of its own.

#include <cstddef>

#include "svcres/core/result.hpp"
#include "svcres/net/tcp.hpp"
#include "svcres/net/udp.hpp"
#include "svcres/resolve/transport.hpp"

namespace svcres {

class PosixTransport {
 public:
  Result<std::size_t> udp(const Exchange& x) const noexcept { return udp_exchange(x, &pool_); }
  Result<std::size_t> tcp(const Exchange& x) const noexcept { return tcp_exchange(x); }

 private:
  mutable UdpSocketPool pool_;  // bookkeeping only: it never changes what an exchange does
};

static_assert(is_transport_v<PosixTransport>, "PosixTransport must model the Transport concept.");

}  // namespace svcres
