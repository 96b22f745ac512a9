#pragma once
// The Transport concept: how the resolver moves one DNS query and its reply. The resolver is
// templated on it, so a constrained host (no POSIX sockets, an event loop, a test) brings its own.
//
// A Transport is a type T with these two members (const or not; the resolver holds it by value):
//
//   Result<std::size_t> T::udp(const svcres::Exchange& x);
//   Result<std::size_t> T::tcp(const svcres::Exchange& x);
//
// Each sends x.query to x.server and writes one reply into x.reply (at most x.reply_capacity bytes),
// returning its size. Contract:
// - UDP: a reply whose source is not x.server, or for which x.accept(x.accept_ctx, msg, size) is
//   false (wrong ID or question: RFC 5452 §9.1), is ignored and the wait goes on until x.timeout has
//   passed since the send. ECONNREFUSED-like failures return Errc::connection_refused at once.
// - TCP: RFC 7766 §8 framing (a 2-byte length before each message); a reply for which accept() is
//   false is Errc::mismatched_reply, an early close is Errc::connection_closed.
// - Errors: timeout, connection_refused, connection_closed, network_error, buffer_too_small,
//   mismatched_reply, truncated (a zero-length TCP message). Never throws.
// - UDP retransmission (optional; see Exchange::retransmit_after): a transport may ignore the three
//   retransmit fields and stay correct, it then sends one datagram per call.
// The transport never parses DNS beyond calling accept(); it is the only place with OS calls.
//
// Optionally, `std::uint64_t T::process_tag()`: a value that changes when the process forks
// (PosixTransport returns getpid()). The resolver reads it before each query and reseeds its
// ID and 0x20 generator when it changed, so a forked child never sends its parent's next IDs. It
// sits here because the transport is the resolver's one window onto the OS: the resolver stays
// standard C++, and a host without fork() simply leaves it out.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "svcres/core/result.hpp"
#include "svcres/resolve/resolv_conf.hpp"

namespace svcres {

// true when `msg` answers the query being sent (ID, question); see Resolver for the rules.
using ReplyCheck = bool (*)(const void* ctx, const std::uint8_t* msg, std::size_t size) noexcept;

struct Exchange {
  NameServer server;
  const std::uint8_t* query = nullptr;
  std::size_t query_size = 0;
  std::uint8_t* reply = nullptr;
  std::size_t reply_capacity = 0;
  std::chrono::milliseconds timeout{0};  // relative: the transport owns its clock
  ReplyCheck accept = nullptr;           // null: accept anything from the right source
  const void* accept_ctx = nullptr;
  // UDP only. When > 0, the same datagram is sent again (same socket and port, same ID: a reply to
  // any copy matches) retransmit_after after the first send, then after twice that, four times, ...
  // (RFC 6298 §5.5 backoff), while inside `timeout` and at most max_retransmits times; each extra
  // copy is counted in *retransmitted (the caller zeroes it and counts packets from it). `timeout`
  // still bounds the whole call. 0: one datagram, the glibc way.
  std::chrono::milliseconds retransmit_after{0};
  unsigned max_retransmits = 0;
  unsigned* retransmitted = nullptr;
};

template <class T, class = void>
struct is_transport : std::false_type {};
template <class T>
struct is_transport<T, std::void_t<decltype(std::declval<T&>().udp(std::declval<const Exchange&>())),
                                   decltype(std::declval<T&>().tcp(std::declval<const Exchange&>()))>>
    : std::bool_constant<
          std::is_same_v<decltype(std::declval<T&>().udp(std::declval<const Exchange&>())), Result<std::size_t>> &&
          std::is_same_v<decltype(std::declval<T&>().tcp(std::declval<const Exchange&>())), Result<std::size_t>>> {};
template <class T>
inline constexpr bool is_transport_v = is_transport<T>::value;

namespace detail {
template <class T, class = void>
struct has_process_tag : std::false_type {};
template <class T>
struct has_process_tag<T, std::void_t<decltype(std::declval<T&>().process_tag())>>
    : std::is_convertible<decltype(std::declval<T&>().process_tag()), std::uint64_t> {};
template <class T>
inline constexpr bool has_process_tag_v = has_process_tag<T>::value;

// T's process_tag(), or 0 when it has none.
template <class T>
std::uint64_t process_tag_of(T& t) noexcept {
  if constexpr (has_process_tag_v<T>) {
    return static_cast<std::uint64_t>(t.process_tag());
  } else {
    (void)t;
    return 0;
  }
}
}  // namespace detail

}  // namespace svcres
