// Discrete-event load-balancing simulation. Virtual time (a ManualClock); the library's real table,
// policies, outlier detector and complete() make and learn from every pick. Nothing sleeps.
//
// Scenario "linkerd2016" (Linkerd's 2016 "beyond round robin" post): 11 hosts, latency
// N(167 ms, 5 ms), Poisson arrivals at 1000 rps for 60 s, one host answers in 2 s during
// [15 s, 45 s). Published success within a 1 s timeout: ~95 % RR, ~99 % least loaded, ~99.9 % peak EWMA.
// Scenario "tower76" (tower-balance PR #76 demo): 50,000 requests, 50 concurrent (closed loop),
// 10 endpoints whose latency is uniform in [0, max) with max 1 ms, 10 ms x 4, 100 ms x 4, 1000 ms.
// Published p999: 988 ms RR, 857 ms least loaded, 105 ms peak EWMA.
// A request still running at 1 s is abandoned: it counts as a failure, observed at 1 s, and its
// outcome (failure, 1 s) reaches the EWMA and the ejection logic.
//
// Rows: every policy with defaults (peak EWMA counts a failure as at least 5 s:
// EwmaConfig::failure_penalty), plus peak_ewma_fp0 (failure_penalty = 0: failures at face value, as
// tower and Envoy record them) to show what the penalty does.
// Usage: [SVCRES_LBSIM_SEED=N] bench_lb_sim [OUT_DIR]   writes OUT_DIR/lb_sim_<scenario>.svg (default: current dir)

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "svcres/balance/feedback.hpp"
#include "svcres/balance/least_request.hpp"
#include "svcres/balance/maglev.hpp"
#include "svcres/balance/outlier.hpp"
#include "svcres/balance/peak_ewma.hpp"
#include "svcres/balance/random.hpp"
#include "svcres/balance/round_robin.hpp"
#include "svcres/balance/weighted_srv.hpp"
#include "svcres/table/endpoint_table.hpp"

using namespace svcres;

namespace {
constexpr std::size_t kMaxHosts = 16;
using Table = EndpointTable<kMaxHosts, MaglevIndex<65537, kMaxHosts>>;
constexpr double kTimeout = 1.0;

struct Scenario {
  std::string name;
  std::size_t hosts;
  // Latency in seconds of a request sent to host h at time t.
  std::function<double(std::size_t h, double t, std::mt19937_64& g)> latency;
  bool open_loop;         // Poisson arrivals (rate, duration) or closed loop (concurrency, total)
  double rate, duration;  // open loop
  int concurrency, total; // closed loop
};

struct Stats {
  std::string policy;
  int ejection;
  std::vector<double> observed;  // seconds, capped at the timeout
  long ok = 0, n = 0;
  double pct(double p) const {
    std::size_t i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(observed.size()))) - 1;
    return observed[std::min(i, observed.size() - 1)];
  }
};

struct Event {
  double t;
  bool arrival;
  SlotRef ref;
  double observed;
  bool ok;
  bool operator>(const Event& o) const { return t > o.t; }
};

template <class P>
Stats simulate(const Scenario& sc, const char* pname, P& policy, bool ejection, std::uint64_t seed,
               const EwmaConfig& ewma) {
  auto table = std::make_unique<Table>();
  std::vector<Endpoint> eps(sc.hosts);
  for (std::size_t i = 0; i < sc.hosts; ++i) {
    eps[i].address = IpAddress::v4(10, 0, 0, static_cast<std::uint8_t>(i + 1));
    eps[i].port = 8080;
  }
  if (!table->publish(eps.data(), eps.size()).ok()) std::abort();
  ManualClock clock;
  const TimePoint base = clock.now();
  const OutlierDetector od;
  Rng rng(seed);
  std::mt19937_64 g(seed);
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> q;
  Stats st{pname, ejection ? 1 : 0, {}, 0, 0};
  auto at = [&](double t) { return base + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(t)); };

  auto send = [&](double t) {
    SlotRef ref;
    std::size_t host;
    {
      auto snap = table->snapshot();
      PickContext ctx(rng, at(t));
      ctx.key = rng();
      ctx.has_key = true;
      UsableSet<kMaxHosts> usable;
      if (ejection) od.filter(snap, at(t), usable, ctx);
      host = policy.pick(snap, ctx);
      if (host == no_pick) std::abort();
      ref = snap.start(host);
    }
    const double lat = sc.latency(host, t, g);
    const bool ok = lat <= kTimeout;
    const double obs = ok ? lat : kTimeout;
    q.push(Event{t + obs, false, ref, obs, ok});
  };

  int issued = 0;
  if (sc.open_loop) {
    std::exponential_distribution<double> gap(sc.rate);
    q.push(Event{gap(g), true, {}, 0, true});
  } else {
    for (; issued < sc.concurrency; ++issued) send(0.0);
  }
  while (!q.empty()) {
    Event e = q.top();
    q.pop();
    clock.set(at(e.t));
    if (e.arrival) {
      if (e.t >= sc.duration) continue;
      send(e.t);
      std::exponential_distribution<double> gap(sc.rate);
      q.push(Event{e.t + gap(g), true, {}, 0, true});
      continue;
    }
    complete(*table, e.ref, Outcome{e.ok, std::chrono::duration_cast<Duration>(std::chrono::duration<double>(e.observed))},
             clock.now(), ejection ? &od : nullptr, ewma);
    st.observed.push_back(e.observed);
    st.ok += e.ok ? 1 : 0;
    ++st.n;
    if (!sc.open_loop && issued < sc.total) {
      ++issued;
      send(e.t);
    }
  }
  std::sort(st.observed.begin(), st.observed.end());
  return st;
}

// Latency CDF: x = latency (ms, log scale), y = "nines" (-log10(1 - F)), so tails are visible.
void write_svg(const std::string& path, const std::string& title, const std::vector<Stats>& runs) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return;
  const double W = 900, H = 560, L = 70, R = 250, T = 40, B = 50;
  const double xmin = -1, xmax = std::log10(2000.0), ymax = 4;  // 0.1 ms .. 2 s; up to 99.99 %
  auto X = [&](double ms) { return L + (std::log10(std::max(ms, 0.1)) - xmin) / (xmax - xmin) * (W - L - R); };
  auto Y = [&](double nines) { return H - B - std::min(nines, ymax) / ymax * (H - T - B); };
  std::fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%g' height='%g' font-family='sans-serif' font-size='12'>\n", W, H);
  std::fprintf(f, "<rect width='100%%' height='100%%' fill='white'/>\n<text x='%g' y='22' font-size='15'>%s</text>\n", L, title.c_str());
  const double xt[] = {0.1, 1, 10, 100, 1000};
  for (double v : xt)
    std::fprintf(f, "<line x1='%g' y1='%g' x2='%g' y2='%g' stroke='#ddd'/><text x='%g' y='%g' text-anchor='middle'>%g ms</text>\n",
                 X(v), T, X(v), H - B, X(v), H - B + 18, v);
  const char* yl[] = {"0 %", "90 %", "99 %", "99.9 %", "99.99 %"};
  for (int k = 0; k <= 4; ++k)
    std::fprintf(f, "<line x1='%g' y1='%g' x2='%g' y2='%g' stroke='#ddd'/><text x='%g' y='%g' text-anchor='end'>%s</text>\n",
                 L, Y(k), W - R, Y(k), L - 6, Y(k) + 4, yl[k]);
  std::fprintf(f, "<line x1='%g' y1='%g' x2='%g' y2='%g' stroke='#c00' stroke-dasharray='4'/>\n", X(1000), T, X(1000), H - B);
  const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf"};
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const Stats& s = runs[r];
    const char* col = colors[(r / 2) % 7];
    std::fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.5'%s points='", col,
                 s.ejection ? " stroke-dasharray='6 3'" : "");
    const std::size_t n = s.observed.size();
    for (int k = 0; k <= 400; ++k) {
      double nines = ymax * k / 400.0;
      double p = 1 - std::pow(10.0, -nines);
      std::size_t i = std::min(n - 1, static_cast<std::size_t>(p * static_cast<double>(n)));
      std::fprintf(f, "%.1f,%.1f ", X(s.observed[i] * 1000), Y(nines));
    }
    std::fprintf(f, "'/>\n<text x='%g' y='%g' fill='%s'>%s%s</text>\n", W - R + 10, T + 16.0 * static_cast<double>(r) + 10, col,
                 s.policy.c_str(), s.ejection ? " + ejection (dashed)" : "");
  }
  std::fprintf(f, "<text x='%g' y='%g' text-anchor='middle'>latency (log)</text></svg>\n", (L + W - R) / 2, H - 8);
  std::fclose(f);
}

std::uint64_t g_seed = 20160;

template <class P>
void run(const Scenario& sc, const char* name, P& policy, std::vector<Stats>& out, const EwmaConfig& ewma = {}) {
  // Same seed with and without ejection: the two runs see the same arrivals and latencies.
  const std::uint64_t seed = g_seed + out.size() / 2;
  for (int ej = 0; ej <= 1; ++ej) out.push_back(simulate(sc, name, policy, ej == 1, seed, ewma));
}
}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : ".";
  if (const char* s = std::getenv("SVCRES_LBSIM_SEED")) g_seed = std::strtoull(s, nullptr, 10);
  std::vector<Scenario> scenarios;
  scenarios.push_back(Scenario{"linkerd2016", 11,
                               [](std::size_t h, double t, std::mt19937_64& g) {
                                 if (h == 0 && t >= 15 && t < 45) return 2.0;
                                 std::normal_distribution<double> d(0.167, 0.005);
                                 return std::max(0.0, d(g));
                               },
                               true, 1000, 60, 0, 0});
  scenarios.push_back(Scenario{"tower76", 10,
                               [](std::size_t h, double, std::mt19937_64& g) {
                                 static const double max_ms[] = {1, 10, 10, 10, 10, 100, 100, 100, 100, 1000};
                                 std::uniform_real_distribution<double> d(0, max_ms[h] / 1000.0);
                                 return d(g);
                               },
                               false, 0, 0, 50, 50000});
  std::vector<std::string> results;
  for (const Scenario& sc : scenarios) {
    std::vector<Stats> runs;
    RoundRobin rr;
    Random random;
    LeastRequest lr;
    PeakEwma pe;
    WeightedSrv srv;
    Maglev mg;
    run(sc, "round_robin", rr, runs);
    run(sc, "random", random, runs);
    run(sc, "weighted_srv", srv, runs);
    run(sc, "least_request", lr, runs);
    run(sc, "peak_ewma", pe, runs);
    run(sc, "maglev", mg, runs);
    // Not a default: failures recorded at face value (a timeout counts as 1 s), as tower does.
    EwmaConfig face_value;
    face_value.failure_penalty = Duration::zero();
    PeakEwma pe_fp0(face_value);
    run(sc, "peak_ewma_fp0", pe_fp0, runs, face_value);
    std::printf("\nscenario %s (%zu hosts)\n%-16s %4s %9s %9s %9s %9s %10s %8s\n", sc.name.c_str(), sc.hosts, "policy",
                "ej", "p50_ms", "p95_ms", "p99_ms", "p999_ms", "success1s", "requests");
    for (const Stats& s : runs) {
      std::printf("%-16s %4d %9.1f %9.1f %9.1f %9.1f %9.3f%% %8ld\n", s.policy.c_str(), s.ejection, s.pct(0.5) * 1e3,
                  s.pct(0.95) * 1e3, s.pct(0.99) * 1e3, s.pct(0.999) * 1e3, 100.0 * s.ok / s.n, s.n);
      char line[256];
      std::snprintf(line, sizeof line, "RESULT lbsim scenario=%s policy=%s ejection=%d p99_ms=%.1f p999_ms=%.1f success_1s=%.4f",
                    sc.name.c_str(), s.policy.c_str(), s.ejection, s.pct(0.99) * 1e3, s.pct(0.999) * 1e3,
                    static_cast<double>(s.ok) / s.n);
      results.push_back(line);
    }
    const std::string svg = dir + "/lb_sim_" + sc.name + ".svg";
    write_svg(svg, "svcres LB simulation: " + sc.name + " (latency CDF; dashed = with ejection)", runs);
    std::printf("wrote %s\n", svg.c_str());
  }
  std::printf("\n");
  for (const auto& r : results) std::printf("%s\n", r.c_str());
  return 0;
}
