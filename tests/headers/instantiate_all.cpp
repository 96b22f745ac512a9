// Compiled by scripts/check-headers with the strictest flags a user may have: a header compiled
// alone instantiates no template, so warnings inside templates (-Wshadow, -Wconversion) only show
// when something uses them. This translation unit uses every public template the way the README
// does, for each policy. It is compiled, never run.
#include <svcres/svcres.hpp>

#include <string>

namespace {

template <class Policy>
void use_service(const svcres::ResolvConf& conf) {
  static svcres::Service<Policy> s(conf, "user-service.local");
  svcres::PickOptions po;
  po.key = 42;
  po.has_key = true;
  if (auto lease = s.pick(po)) lease->complete(svcres::TryOutcome::http(200));
  if (auto lease = s.pick()) lease->complete(svcres::TryOutcome::timeout());
  svcres::RetryPolicy rp;
  const svcres::CallResult r = s.call(
      [](const svcres::Endpoint&, svcres::TimePoint) { return svcres::TryOutcome::http(503); }, rp,
      svcres::steady_deadline_from_epoch_ms(0));
  (void)r;
  (void)s.refresh();
  s.start_refresher();
  s.stop_refresher();
  std::string out;
  svcres::metrics::append_prometheus(out, s.name(), s.metrics_snapshot());
  svcres::metrics::append_emf(out, svcres::metrics::EmfOptions{}, s.metrics_snapshot(), 0);
}

}  // namespace

void svcres_instantiate_all() {
  const svcres::ResolvConf conf = svcres::ResolvConf::parse("nameserver 127.0.0.1\n");
  use_service<svcres::RoundRobin>(conf);
  use_service<svcres::Random>(conf);
  use_service<svcres::WeightedSrv>(conf);
  use_service<svcres::LeastRequest>(conf);
  use_service<svcres::PeakEwma>(conf);
  use_service<svcres::Maglev>(conf);

  static svcres::Resolver<svcres::PosixTransport> resolver(conf);
  auto a = resolver.resolve("api-service.local", svcres::dns::Type::A);
  (void)a;
  svcres::EndpointResolver<svcres::Resolver<svcres::PosixTransport>> er(resolver);
  auto set = er.get("user-service.local", 8080);
  (void)set;

  std::uint8_t buf[512];
  auto name = svcres::dns::Name::from_text("user-service.local");
  if (name.ok()) {
    std::size_t n = 0;
    if (svcres::dns::write_query(buf, sizeof buf, 1, name.value(), svcres::dns::Type::SRV, {}).get(n) ==
        svcres::Errc::ok) {
      if (auto m = svcres::dns::Message::parse(buf, n))
        for (const auto& rec : m->answers())
          if (auto srv = rec.as_srv()) (void)srv->target.to_name();
    }
  }
}
