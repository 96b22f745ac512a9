#pragma once
// PosixTransport: the default Transport (see svcres/resolve/transport.hpp) over POSIX UDP and TCP
// sockets. Stateless: every exchange opens and closes its own socket, so one instance may be used
// from several threads at once.

#include <cstddef>

#include "svcres/core/result.hpp"
#include "svcres/net/tcp.hpp"
#include "svcres/net/udp.hpp"
#include "svcres/resolve/transport.hpp"

namespace svcres {

struct PosixTransport {
  Result<std::size_t> udp(const Exchange& x) const noexcept { return udp_exchange(x); }
  Result<std::size_t> tcp(const Exchange& x) const noexcept { return tcp_exchange(x); }
};

static_assert(is_transport_v<PosixTransport>, "PosixTransport must model the Transport concept.");

}  // namespace svcres
