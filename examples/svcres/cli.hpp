#pragma once
// Argument parsing for the svcres tool: every option is checked, nothing is guessed; a bad value is
// a sentence for the usage message, never an exception or a crash. Also what the tool learns about
// replies it turned away (ReplyLog, LoggingTransport), so an error can say why no answer came.

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "svcres/dns/message.hpp"
#include "svcres/dns/name.hpp"
#include "svcres/net/posix_transport.hpp"
#include "svcres/resolve/transport.hpp"
#include "zone.hpp"

namespace svcres_cli {

struct Args {
  std::vector<std::string> positional;
  std::string server;  // "@..." as given
  std::string type;
  std::string policy;
  std::string address;
  std::string origin;
  bool tcp = false;
  bool noedns = false;
  long count = 1000;
  std::uint16_t port = 0;
  bool port_given = false;
  unsigned multivalue = 0;
  long for_seconds = 0;
  long timeout_ms = 2000;
};

inline bool parse_number(const std::string& s, long lo, long hi, long& out) {
  if (s.empty() || s.size() > 12) return false;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  out = v;
  return true;
}

inline bool parse_args(int argc, char** argv, Args& a, std::string& why) {
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* what, std::string& out) {
      if (i + 1 >= argc) {
        why = std::string(what) + " needs a value";
        return false;
      }
      out = argv[++i];
      return true;
    };
    auto number = [&](const char* what, long lo, long hi, long& out) {
      std::string v;
      if (!value(what, v)) return false;
      if (!parse_number(v, lo, hi, out)) {
        why = std::string(what) + " must be a number from " + std::to_string(lo) + " to " + std::to_string(hi) +
              ", not '" + v + "'";
        return false;
      }
      return true;
    };
    long n = 0;
    if (arg == "@") {
      why = "the server after '@' is missing (write @ADDRESS or @ADDRESS:PORT, with no space after '@')";
      return false;
    }
    if (arg.size() > 1 && arg[0] == '@') {
      if (!a.server.empty()) {
        why = "only one @SERVER";
        return false;
      }
      a.server = arg;
    } else if (arg == "-t" || arg == "--type") {
      if (!value("-t", a.type)) return false;
    } else if (arg == "--tcp") {
      a.tcp = true;
    } else if (arg == "--noedns") {
      a.noedns = true;
    } else if (arg == "-n") {
      if (!number("-n", 1, 100000000, a.count)) return false;
    } else if (arg == "--policy") {
      if (!value("--policy", a.policy)) return false;
    } else if (arg == "--port") {
      if (!number("--port", 0, 65535, n)) return false;
      a.port = static_cast<std::uint16_t>(n);
      a.port_given = true;
    } else if (arg == "--multivalue") {
      if (!number("--multivalue", 0, 1000, n)) return false;
      a.multivalue = static_cast<unsigned>(n);
    } else if (arg == "--address") {
      if (!value("--address", a.address)) return false;
    } else if (arg == "--origin") {
      if (!value("--origin", a.origin)) return false;
    } else if (arg == "--for") {
      if (!number("--for", 1, 86400, a.for_seconds)) return false;
    } else if (arg == "--timeout-ms") {
      if (!number("--timeout-ms", 1, 60000, a.timeout_ms)) return false;
    } else if (!arg.empty() && arg[0] == '-') {
      why = "unknown option '" + escaped(arg) + "'";
      return false;
    } else {
      a.positional.push_back(arg);
    }
  }
  return true;
}

// NAME as resolve and pick take it: presentation text (RFC 1035 §5.1) that encodes, so at most 253
// characters once \DDD escapes are decoded (255 bytes in wire form, RFC 1035 §2.3.4). `max_text`
// bounds the text as written, for a consumer that keeps it as text (Service keeps 253 bytes and
// would cut a longer one).
inline bool check_name(const std::string& text, std::size_t max_text, svcres::dns::Name& out, std::string& why) {
  namespace dns = svcres::dns;
  if (text.empty()) {
    why = "NAME is empty";
    return false;
  }
  if (svcres::Errc e = dns::Name::from_text(text).get(out); e != svcres::Errc::ok) {
    why = "bad NAME '" + escaped(text, 80) + "': " + svcres::to_string(e);
    if (e == svcres::Errc::name_too_long)
      why += " (" + std::to_string(text.size()) +
             " characters as written; a DNS name has at most 253, RFC 1035 §2.3.4)";
    return false;
  }
  if (text.size() > max_text) {
    why = "NAME '" + escaped(text, 80) + "' has " + std::to_string(text.size()) + " characters as written; " +
          "this command takes at most " + std::to_string(max_text) + " (drop a final '.', or \\DDD escapes)";
    return false;
  }
  return true;
}

// Why a datagram was not taken as the reply: the checks of RFC 5452 §9.1 that
// svcres::detail::reply_matches makes, named in this order (an echoed query fails the QR check
// whatever its ID, so one misbehaviour gets one name).
enum class Mismatch : unsigned { too_short, not_response, wrong_id, question_count, other_question, count };

inline const char* to_string(Mismatch m) noexcept {
  switch (m) {
    case Mismatch::too_short: return "shorter than a DNS header";
    case Mismatch::not_response: return "not a response (QR=0)";
    case Mismatch::wrong_id: return "wrong ID";
    case Mismatch::question_count: return "not exactly one question";
    case Mismatch::other_question: return "answers another question";
    case Mismatch::count: break;
  }
  return "?";
}

inline Mismatch classify(const std::uint8_t* m, std::size_t n, std::uint16_t id) noexcept {
  if (n < svcres::dns::header_size) return Mismatch::too_short;
  if ((m[2] & 0x80) == 0) return Mismatch::not_response;
  if (svcres::dns::detail::load_u16(m) != id) return Mismatch::wrong_id;
  if (svcres::dns::detail::load_u16(m + 4) != 1) return Mismatch::question_count;
  return Mismatch::other_question;
}

// What the transports turned away and what came back unparseable. Relaxed atomics: a Resolver may
// call its transport from several threads; each counter is read only for the message, after the
// lookups ended, and orders nothing else.
struct ReplyLog {
  std::atomic<std::uint32_t> ignored[static_cast<unsigned>(Mismatch::count)] = {};
  std::atomic<std::uint32_t> last_wrong_id{0};  // expected << 16 | got, of the last wrong-ID reply
  std::atomic<std::uint32_t> unparsed{0};       // accepted replies that Message::parse refused
  std::atomic<svcres::Errc> parse_error{svcres::Errc::ok};

  std::uint32_t total_ignored() const noexcept {
    std::uint32_t t = 0;
    for (const auto& c : ignored) t += c.load(std::memory_order_relaxed);
    return t;
  }

  // "ignored 2 replies from S: not a response (QR=0)", with a count per reason when there are
  // several; empty when nothing was ignored.
  std::string summary(const std::string& server) const {
    const std::uint32_t total = total_ignored();
    if (total == 0) return {};
    std::string s = "ignored " + std::to_string(total) + (total == 1 ? " reply" : " replies");
    s += " from " + server + ": ";
    bool first = true;
    for (unsigned k = 0; k < static_cast<unsigned>(Mismatch::count); ++k) {
      const std::uint32_t c = ignored[k].load(std::memory_order_relaxed);
      if (c == 0) continue;
      if (!first) s += ", ";
      first = false;
      if (c != total) s += std::to_string(c) + " ";
      s += to_string(static_cast<Mismatch>(k));
      if (static_cast<Mismatch>(k) == Mismatch::wrong_id) {
        const std::uint32_t ids = last_wrong_id.load(std::memory_order_relaxed);
        s += " (expected " + std::to_string(ids >> 16) + ", got " + std::to_string(ids & 0xffff) + ")";
      }
    }
    return s;
  }
};

namespace detail {

struct LoggedCheck {
  svcres::ReplyCheck inner;
  const void* inner_ctx;
  std::uint16_t id;
  ReplyLog* log;
};

// The caller's accept() (the resolver's reply_matches), and a note of why it said no.
inline bool logged_accept(const void* ctx, const std::uint8_t* m, std::size_t n) noexcept {
  const auto* c = static_cast<const LoggedCheck*>(ctx);
  if (c->inner(c->inner_ctx, m, n)) return true;
  const Mismatch why = classify(m, n, c->id);
  c->log->ignored[static_cast<unsigned>(why)].fetch_add(1, std::memory_order_relaxed);
  if (why == Mismatch::wrong_id)
    c->log->last_wrong_id.store(std::uint32_t{c->id} << 16 | svcres::dns::detail::load_u16(m),
                                std::memory_order_relaxed);
  return false;
}

}  // namespace detail

// svcres::PosixTransport that writes into a ReplyLog what it ignored (the transport contract drops
// mismatched datagrams silently, so a Resolver reports only "timed out") and which accepted reply did
// not parse. Models the Transport concept (svcres/resolve/transport.hpp).
class LoggingTransport {
 public:
  explicit LoggingTransport(ReplyLog* log = nullptr) noexcept : log_(log) {}
  svcres::Result<std::size_t> udp(const svcres::Exchange& x) noexcept { return run(x, false); }
  svcres::Result<std::size_t> tcp(const svcres::Exchange& x) noexcept { return run(x, true); }

 private:
  svcres::Result<std::size_t> run(const svcres::Exchange& x, bool over_tcp) noexcept {
    if (!log_ || !x.accept || x.query_size < 2) return over_tcp ? posix_.tcp(x) : posix_.udp(x);
    const detail::LoggedCheck check{x.accept, x.accept_ctx, svcres::dns::detail::load_u16(x.query), log_};
    svcres::Exchange logged = x;
    logged.accept = &detail::logged_accept;
    logged.accept_ctx = &check;
    svcres::Result<std::size_t> r = over_tcp ? posix_.tcp(logged) : posix_.udp(logged);
    if (r.ok()) {
      auto m = svcres::dns::Message::parse(x.reply, r.value());
      if (!m.ok()) {
        log_->unparsed.fetch_add(1, std::memory_order_relaxed);
        log_->parse_error.store(m.error(), std::memory_order_relaxed);
      }
    }
    return r;
  }

  svcres::PosixTransport posix_;
  ReplyLog* log_;
};

static_assert(svcres::is_transport_v<LoggingTransport>, "LoggingTransport must model the Transport concept.");

}  // namespace svcres_cli
