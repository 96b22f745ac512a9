// svcres_chaos_relay: the chaos relay (tests/support/chaos_relay.hpp) as a command, for manual
// experiments and scripts. Listens on 127.0.0.1:PORT (UDP and TCP), forwards to 127.0.0.1:UPSTREAM.
//
//   svcres_chaos_relay --upstream 15301 [--listen PORT] [--seed S] [--for SECONDS] [--tcp-chaos]
//                      [--drop R] [--duplicate R] [--reorder R] [--delay R] [--truncate R] [--corrupt R]
//                      [--delay-ms MIN-MAX] [--to-server|--to-client] ...
//
// Rates are probabilities in [0, 1]. A rate applies to both directions unless it follows
// --to-server or --to-client, which select the direction for the options after them (--both goes
// back). Prints "listening on 127.0.0.1:P" once bound, the counters on SIGINT/SIGTERM or after
// --for, and every --print-every seconds when given.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "chaos_relay.hpp"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int usage(const char* why) {
  if (why && *why) std::fprintf(stderr, "svcres_chaos_relay: %s\n", why);
  std::fprintf(stderr,
               "usage: svcres_chaos_relay --upstream PORT [--listen PORT] [--seed S] [--for SECONDS]\n"
               "         [--print-every SECONDS] [--tcp-chaos] [--no-tcp] [--to-server|--to-client|--both]\n"
               "         [--drop R] [--duplicate R] [--reorder R] [--delay R] [--truncate R] [--corrupt R]\n"
               "         [--delay-ms MIN-MAX] [--reorder-hold-ms MS]\n");
  return 2;
}

bool number(const char* s, double lo, double hi, double& out) {
  char* end = nullptr;
  out = std::strtod(s, &end);
  return end && *end == '\0' && end != s && out >= lo && out <= hi;
}
}  // namespace

int main(int argc, char** argv) {
  svcres_test::ChaosConfig c;
  bool to_server = true, to_client = true;
  double for_seconds = 0, print_every = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](double lo, double hi, double& out) {
      return i + 1 < argc && number(argv[++i], lo, hi, out);
    };
    auto rate = [&](double svcres_test::ChaosRates::*field) {
      double r;
      if (!value(0, 1, r)) return false;
      if (to_server) c.to_server.*field = r;
      if (to_client) c.to_client.*field = r;
      return true;
    };
    double v = 0;
    bool ok = true;
    if (a == "--upstream") ok = value(1, 65535, v), c.upstream_port = static_cast<std::uint16_t>(v);
    else if (a == "--listen") ok = value(0, 65535, v), c.listen_port = static_cast<std::uint16_t>(v);
    else if (a == "--seed") ok = value(0, 1e18, v), c.seed = static_cast<std::uint64_t>(v);
    else if (a == "--for") ok = value(0, 1e9, for_seconds);
    else if (a == "--print-every") ok = value(0, 1e9, print_every);
    else if (a == "--tcp-chaos") c.tcp_chaos = true;
    else if (a == "--no-tcp") c.tcp = false;
    else if (a == "--to-server") to_server = true, to_client = false;
    else if (a == "--to-client") to_server = false, to_client = true;
    else if (a == "--both") to_server = to_client = true;
    else if (a == "--drop") ok = rate(&svcres_test::ChaosRates::drop);
    else if (a == "--duplicate") ok = rate(&svcres_test::ChaosRates::duplicate);
    else if (a == "--reorder") ok = rate(&svcres_test::ChaosRates::reorder);
    else if (a == "--delay") ok = rate(&svcres_test::ChaosRates::delay);
    else if (a == "--truncate") ok = rate(&svcres_test::ChaosRates::truncate);
    else if (a == "--corrupt") ok = rate(&svcres_test::ChaosRates::corrupt);
    else if (a == "--reorder-hold-ms") {
      ok = value(0, 60000, v);
      if (to_server) c.to_server.reorder_hold = std::chrono::milliseconds(static_cast<long>(v));
      if (to_client) c.to_client.reorder_hold = std::chrono::milliseconds(static_cast<long>(v));
    } else if (a == "--delay-ms") {
      long lo = 0, hi = 0;
      ok = i + 1 < argc && std::sscanf(argv[++i], "%ld-%ld", &lo, &hi) == 2 && lo >= 0 && hi >= lo;
      if (to_server) c.to_server.delay_min = std::chrono::milliseconds(lo), c.to_server.delay_max = std::chrono::milliseconds(hi);
      if (to_client) c.to_client.delay_min = std::chrono::milliseconds(lo), c.to_client.delay_max = std::chrono::milliseconds(hi);
    } else if (a == "-h" || a == "--help") {
      return usage(nullptr);
    } else {
      return usage(("unknown option " + a).c_str());
    }
    if (!ok) return usage(("bad value for " + a).c_str());
  }
  if (c.upstream_port == 0) return usage("--upstream is required");

  svcres_test::ChaosRelay relay(c);
  if (std::string e = relay.start(); !e.empty()) {
    std::fprintf(stderr, "svcres_chaos_relay: %s\n", e.c_str());
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::printf("listening on 127.0.0.1:%u -> 127.0.0.1:%u (seed %llu)\n", relay.port(), c.upstream_port,
              static_cast<unsigned long long>(c.seed));
  std::fflush(stdout);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto next_print = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(print_every));
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto now = Clock::now();
    if (for_seconds > 0 && now - start >= std::chrono::duration<double>(for_seconds)) break;
    if (print_every > 0 && now >= next_print) {
      std::printf("%s\n", relay.counters().to_text().c_str());
      std::fflush(stdout);
      next_print += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(print_every));
    }
  }
  relay.stop();
  std::printf("%s\n", relay.counters().to_text().c_str());
  return 0;
}
