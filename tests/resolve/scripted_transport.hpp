#pragma once
// ScriptedTransport: a Transport for unit tests. Each server (by port) gets a behaviour; answers come
// from a MiniZone. UDP replies go through the resolver's accept() check exactly as the POSIX
// transport does, so spoofed replies queued before the real one are ignored the same way.
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mini_zone.hpp"
#include "svcres/resolve/transport.hpp"

namespace svcres_test {

// formerr_on_edns: FORMERR without a question to a query with OPT (a server that predates EDNS),
// answers otherwise.
enum class Behaviour { answer, timeout, refused, servfail, garbage, spoof_then_answer, formerr_on_edns };

struct ScriptState {
  MiniZone zone;
  std::map<std::uint16_t, Behaviour> behaviour;  // by server port; default answer
  std::map<std::string, Behaviour> by_name;      // by question name ("foo.local."); before the port's
  std::vector<std::uint16_t> udp_calls, tcp_calls;  // server ports, in order
  std::vector<std::chrono::milliseconds> udp_timeouts;  // each UDP call's timeout, in order
  std::function<void()> on_call;                    // e.g. a sleep to widen a race
  // Called with each exchange before it is answered, outside the lock: e.g. to advance a
  // ManualClock by x.timeout when the behaviour is a timeout.
  std::function<void(const svcres::Exchange&, Behaviour)> on_exchange;
  std::vector<bool> udp_edns;                       // each UDP query carried OPT
  std::vector<std::uint16_t> udp_ids;               // each UDP query's ID
  std::vector<std::string> udp_names;               // each UDP query's question name, as text
  std::vector<std::chrono::milliseconds> udp_retransmit_after;  // each UDP call's Exchange field
  std::vector<unsigned> udp_max_retransmits;
  // Retransmission as PosixTransport does it, in virtual time: copies leave at (2^k - 1) *
  // retransmit_after while inside x.timeout (at most max_retransmits). A timeout reports every
  // copy that fits; with lose_copies = k > 0 an answering server loses the first k datagrams and
  // answers the next one if it fits (else: timeout).
  unsigned lose_copies = 0;
  // A safety net for tests of bugs that send without end: past this many calls every call fails.
  std::size_t max_calls = 100000;
  std::mutex mu;
};

struct ScriptedTransport {
  std::shared_ptr<ScriptState> s = std::make_shared<ScriptState>();

  svcres::Result<std::size_t> udp(const svcres::Exchange& x) { return run(x, false); }
  svcres::Result<std::size_t> tcp(const svcres::Exchange& x) { return run(x, true); }

 private:
  static unsigned copies_that_fit(const svcres::Exchange& x) {
    if (x.retransmit_after.count() <= 0) return 0;
    unsigned k = 0;
    for (auto step = x.retransmit_after, at = step; k < x.max_retransmits && at < x.timeout; step *= 2, at += step) ++k;
    return k;
  }

  svcres::Result<std::size_t> run(const svcres::Exchange& x, bool tcp) {
    Behaviour b;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      if (s->udp_calls.size() + s->tcp_calls.size() >= s->max_calls) return svcres::Errc::network_error;
      (tcp ? s->tcp_calls : s->udp_calls).push_back(x.server.port);
      if (!tcp) {
        s->udp_timeouts.push_back(x.timeout);
        s->udp_edns.push_back(svcres::dns::detail::load_u16(x.query + 10) != 0);
        s->udp_ids.push_back(svcres::dns::detail::load_u16(x.query));
        auto pm = svcres::dns::Message::parse(x.query, x.query_size);
        s->udp_names.push_back(pm.ok() && pm->has_question()
                                   ? std::string(pm->question().name.to_name().value().to_text().view())
                                   : std::string("?"));
        s->udp_retransmit_after.push_back(x.retransmit_after);
        s->udp_max_retransmits.push_back(x.max_retransmits);
      }
      auto it = s->behaviour.find(x.server.port);
      b = it == s->behaviour.end() ? Behaviour::answer : it->second;
      if (!tcp) {
        auto named = s->by_name.find(s->udp_names.back());
        if (named != s->by_name.end()) b = named->second;
      }
    }
    const unsigned fit = tcp ? 0 : copies_that_fit(x);
    unsigned lose;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      lose = s->lose_copies;
    }
    if (!tcp && b == Behaviour::answer && lose > 0) {
      if (x.retransmitted) *x.retransmitted += fit < lose ? fit : lose;
      if (fit < lose) b = Behaviour::timeout;
    } else if (b == Behaviour::timeout && x.retransmitted) {
      *x.retransmitted += fit;
    }
    if (s->on_call) s->on_call();
    if (s->on_exchange) s->on_exchange(x, b);
    switch (b) {
      case Behaviour::formerr_on_edns:
        if (svcres::dns::detail::load_u16(x.query + 10) == 0) break;  // no OPT: answer
        std::memcpy(x.reply, x.query, svcres::dns::header_size);
        x.reply[2] |= 0x80;
        x.reply[3] = 1;
        std::memset(x.reply + 4, 0, 8);  // no question, no records
        if (x.accept && !x.accept(x.accept_ctx, x.reply, svcres::dns::header_size)) return svcres::Errc::timeout;
        return svcres::dns::header_size;
      case Behaviour::timeout: return svcres::Errc::timeout;
      case Behaviour::refused: return svcres::Errc::connection_refused;
      case Behaviour::garbage: {
        // Right ID and question, then nonsense: the header claims 3 answers that are not there.
        std::memcpy(x.reply, x.query, x.query_size);
        x.reply[2] |= 0x80;
        x.reply[7] = 3;
        return x.query_size;
      }
      case Behaviour::servfail: {
        std::memcpy(x.reply, x.query, x.query_size);
        x.reply[2] |= 0x80;
        x.reply[3] = 2;
        return x.query_size;
      }
      default: break;
    }
    std::size_t n;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      if (b == Behaviour::spoof_then_answer && !tcp) {
        // A reply with the wrong ID arrives first: accept() must reject it.
        n = s->zone.answer(x.query, x.query_size, x.reply, x.reply_capacity, false);
        x.reply[0] ^= 0x5a;
        if (x.accept && x.accept(x.accept_ctx, x.reply, n)) return svcres::Errc::invalid_argument;  // test fails
      }
      n = s->zone.answer(x.query, x.query_size, x.reply, x.reply_capacity, tcp);
    }
    if (n == 0) return svcres::Errc::timeout;
    if (x.accept && !x.accept(x.accept_ctx, x.reply, n)) return tcp ? svcres::Errc::mismatched_reply : svcres::Errc::timeout;
    return n;
  }
};

}  // namespace svcres_test
