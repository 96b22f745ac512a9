#pragma once
// Every error the library can return, in one enum so a caller can switch over all of them.
// Values are grouped by layer; the numeric values are not stable across versions, the names are.

#include <cstdint>

namespace svcres {

enum class Errc : std::uint8_t {
  ok = 0,

  // Generic contract errors.
  invalid_argument,    // a parameter is outside its documented range
  capacity_exceeded,   // a fixed-capacity container or buffer is full
  buffer_too_small,    // the caller's output buffer cannot hold the result
  not_found,           // a lookup found nothing (not a DNS answer: see nxdomain / nodata)

  // Address and endpoint text (core/ip_address.hpp).
  empty_address,       // "" given where an address was expected
  bad_ipv4,            // not a strict dotted quad: 4 decimal parts 0-255, no leading zeros
  bad_ipv6,            // not RFC 4291 §2.2 text (groups, "::", embedded IPv4 tail)
  scoped_address,      // "fe80::1%eth0": zone indices are refused, the library cannot route them
  bad_port,            // port text not a decimal number in 0-65535

  // DNS wire codec (dns/).
  truncated,           // a read ran past the end of the message
  bad_pointer,         // a compression pointer that does not point strictly backwards into the message
  too_many_hops,       // more compression pointers in one name than the hop cap allows
  label_too_long,      // a label over 63 bytes (RFC 1035 §2.3.4)
  name_too_long,       // a name over 255 bytes in wire form (RFC 1035 §2.3.4)
  bad_label_type,      // label type 0x40 or 0x80 (reserved, RFC 6891 §5 retired 0x40)
  bad_rdlength,        // rdata length wrong for its type, or a name in rdata runs past rdlength
  too_many_records,    // section counts that cannot fit in the bytes that remain
  duplicate_opt,       // more than one OPT record (RFC 6891 §6.1.1)
  misplaced_opt,       // OPT outside the additional section or with a non-root owner
  trailing_data,       // bytes left after the last record the header announced
  bad_name_text,       // a presentation-format name that cannot be encoded
  bad_header,          // a header that this codec cannot use (e.g. QDCOUNT != 1 where one is required)

  // Resolver configuration and resolution (resolve/, net/).
  bad_config_line,     // a resolv.conf line that cannot be used (reported with its line number)
  no_nameservers,      // nothing to send a query to
  timeout,             // no acceptable answer before the deadline
  network_error,       // the OS refused a socket operation
  connection_refused,  // ICMP port unreachable (UDP) or RST (TCP)
  connection_closed,   // TCP peer closed before a whole message arrived
  mismatched_reply,    // a reply whose ID, question or source did not match (ignored internally)
  server_failure,      // SERVFAIL from every server tried
  refused,             // REFUSED from every server tried
  nxdomain,            // authoritative: the name does not exist (RFC 2308 §2.1)
  nodata,              // authoritative: the name exists but has no record of the type (RFC 2308 §2.2)
  cname_loop,          // CNAME chain longer than the chase limit or looping
  stale,               // an answer served past its TTL under RFC 8767 (informational)

  // Load balancing and service (table/, balance/, service.hpp).
  no_endpoints,        // the endpoint set is empty
  no_healthy_endpoint, // every endpoint is ejected and panic mode is off
  table_busy,          // publish found every spare slot held by unfinished leases; retry later
  retry_budget_exhausted,
  deadline_exceeded,   // the caller's overall deadline passed
  try_failed,          // call(): the last try failed and no retry was allowed (its outcome says how)
  http_error,          // a malformed HTTP message (examples)
};

// A short English phrase for logs and CLI output; never null.
namespace detail {
// The text of every Errc. to_string() reads these through a table built from this switch at
// compile time: a switch of returns compiles (at -Os) to a jump and a return per case, while the
// table is data and one load. New codes need only their case here.
constexpr const char* errc_text(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::invalid_argument: return "invalid argument";
    case Errc::capacity_exceeded: return "capacity exceeded";
    case Errc::buffer_too_small: return "buffer too small";
    case Errc::not_found: return "not found";
    case Errc::empty_address: return "empty address";
    case Errc::bad_ipv4: return "malformed IPv4 address";
    case Errc::bad_ipv6: return "malformed IPv6 address";
    case Errc::scoped_address: return "scoped IPv6 address (zone index) not supported";
    case Errc::bad_port: return "malformed port";
    case Errc::truncated: return "message truncated";
    case Errc::bad_pointer: return "bad compression pointer";
    case Errc::too_many_hops: return "too many compression pointers";
    case Errc::label_too_long: return "label longer than 63 bytes";
    case Errc::name_too_long: return "name longer than 255 bytes";
    case Errc::bad_label_type: return "reserved label type";
    case Errc::bad_rdlength: return "bad rdata length";
    case Errc::too_many_records: return "record counts exceed message size";
    case Errc::duplicate_opt: return "more than one OPT record";
    case Errc::misplaced_opt: return "OPT record outside additional section or with non-root owner";
    case Errc::trailing_data: return "trailing bytes after last record";
    case Errc::bad_name_text: return "malformed domain name text";
    case Errc::bad_header: return "unusable message header";
    case Errc::bad_config_line: return "bad resolver configuration line";
    case Errc::no_nameservers: return "no nameservers configured";
    case Errc::timeout: return "timed out";
    case Errc::network_error: return "network error";
    case Errc::connection_refused: return "connection refused";
    case Errc::connection_closed: return "connection closed early";
    case Errc::mismatched_reply: return "reply did not match the query";
    case Errc::server_failure: return "server failure";
    case Errc::refused: return "query refused";
    case Errc::nxdomain: return "name does not exist";
    case Errc::nodata: return "no records of that type";
    case Errc::cname_loop: return "CNAME chain too long or looping";
    case Errc::stale: return "stale answer served";
    case Errc::no_endpoints: return "no endpoints";
    case Errc::no_healthy_endpoint: return "no healthy endpoint";
    case Errc::table_busy: return "endpoint table busy (unfinished leases hold every spare slot); retry publish";
    case Errc::retry_budget_exhausted: return "retry budget exhausted";
    case Errc::deadline_exceeded: return "deadline exceeded";
    case Errc::try_failed: return "every try failed";
    case Errc::http_error: return "malformed HTTP message";
  }
  return "unknown error";
}

struct ErrcTexts {
  static constexpr unsigned size = 128;  // above every code (they are dense from 0)
  const char* text[size] = {};
  constexpr ErrcTexts() noexcept {
    for (unsigned i = 0; i < size; ++i) text[i] = errc_text(static_cast<Errc>(i));
  }
};
inline constexpr ErrcTexts errc_texts{};
}  // namespace detail

constexpr const char* to_string(Errc e) noexcept {
  const unsigned i = static_cast<std::uint8_t>(e);
  return i < detail::ErrcTexts::size ? detail::errc_texts.text[i] : "unknown error";
}

}  // namespace svcres
