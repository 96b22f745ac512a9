// Parse every corpus message with full decode (every record of every section, every name
// decompressed) with svcres, c-ares, ldns and libknot.
//   bench_parse CORPUS_DIR                    Google Benchmark timings (ns per message)
//   bench_parse CORPUS_DIR --run LIB N        parse the corpus N times with LIB (svcres, cares, ldns,
//                                             knot, none) inside bench_run_LIB, for callgrind
//   bench_parse CORPUS_DIR --allocs           heap allocations during N svcres passes (must be 0)
#include <ares.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "svcres/dns/message.hpp"

extern "C" {
#include <ldns/ldns.h>
#include <libknot/libknot.h>
}

// Counts every malloc-family call in the process, so the check covers operator new and anything
// the standard library might do behind the parser's back. glibc's __libc_* do the real work.
extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);
extern "C" void __libc_free(void*);
static std::size_t g_allocs = 0;
extern "C" void* malloc(std::size_t n) {
  ++g_allocs;
  return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t a, std::size_t b) {
  ++g_allocs;
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, std::size_t n) {
  ++g_allocs;
  return __libc_realloc(p, n);
}
extern "C" void free(void* p) { __libc_free(p); }

namespace {
struct Msg {
  std::vector<std::uint8_t> bytes;
  std::uint16_t qtype = 0;
};
std::vector<Msg> g_corpus;

void load(const std::string& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".bin") continue;
    std::ifstream in(e.path(), std::ios::binary);
    Msg m;
    m.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    auto parsed = svcres::dns::Message::parse(m.bytes.data(), m.bytes.size());
    if (!parsed.ok() || !parsed->has_question()) {
      std::fprintf(stderr, "corpus file does not parse: %s\n", e.path().c_str());
      std::exit(1);
    }
    m.qtype = static_cast<std::uint16_t>(parsed->question().type);
    g_corpus.push_back(std::move(m));
  }
}

std::size_t decode_name(const svcres::dns::NameRef& n) {
  auto name = n.to_name();
  return name.ok() ? name->wire_size() : 0;
}
}  // namespace

// Each bench_run_* parses the whole corpus `n` times and returns a checksum so nothing is elided.
extern "C" __attribute__((noinline)) std::size_t bench_run_svcres(int n) {
  using namespace svcres::dns;
  std::size_t sum = 0;
  for (int i = 0; i < n; ++i) {
    for (const Msg& m : g_corpus) {
      auto msg = Message::parse(m.bytes.data(), m.bytes.size());
      if (!msg.ok()) continue;
      // Every field the peers materialise is consumed here too, so none of it can be optimised
      // away: header, question type and class, each record's class and TTL, whole addresses,
      // every field of SRV, SOA and OPT, and every name decompressed into a Name.
      sum += msg->header().id + msg->header().rcode;
      for (const Question& q : msg->questions())
        sum += decode_name(q.name) + static_cast<std::size_t>(q.type) + q.klass;
      for (Section s : {Section::answer, Section::authority, Section::additional}) {
        for (const Record& r : msg->records(s)) {
          sum += decode_name(r.owner) + r.ttl + r.klass;
          switch (r.type) {
            case Type::A: {
              std::uint32_t v;
              std::memcpy(&v, r.as_a()->bytes(), 4);
              sum += v;
              break;
            }
            case Type::AAAA: {
              std::uint64_t v[2];
              std::memcpy(v, r.as_aaaa()->bytes(), 16);
              sum += v[0] ^ v[1];
              break;
            }
            case Type::SRV: {
              auto v = *r.as_srv();
              sum += v.port + v.weight + v.priority + decode_name(v.target);
              break;
            }
            case Type::CNAME: case Type::NS: case Type::PTR: sum += decode_name(*r.as_name()); break;
            case Type::SOA: {
              auto v = *r.as_soa();
              sum += decode_name(v.mname) + decode_name(v.rname) + v.serial + v.refresh + v.retry + v.expire +
                     v.minimum;
              break;
            }
            case Type::TXT:
              for (std::string_view t : *r.as_txt()) sum += t.size();
              break;
            case Type::OPT: {
              auto v = *r.as_opt();
              sum += v.udp_payload + v.flags + v.version + v.options_size;
              break;
            }
            default: sum += r.rdlength; break;
          }
        }
      }
    }
  }
  return sum;
}

extern "C" __attribute__((noinline)) std::size_t bench_run_cares(int n) {
  std::size_t sum = 0;
  for (int i = 0; i < n; ++i) {
    for (const Msg& m : g_corpus) {
      const unsigned char* b = m.bytes.data();
      const int len = static_cast<int>(m.bytes.size());
      switch (m.qtype) {
        case ns_t_aaaa: {
          hostent* h = nullptr;
          ares_addr6ttl ttls[64];
          int nt = 64;
          if (ares_parse_aaaa_reply(b, len, &h, ttls, &nt) == ARES_SUCCESS) sum += static_cast<std::size_t>(nt);
          if (h) ares_free_hostent(h);
          break;
        }
        case ns_t_srv: {
          ares_srv_reply* r = nullptr;
          if (ares_parse_srv_reply(b, len, &r) == ARES_SUCCESS) sum += r ? r->port : 0;
          if (r) ares_free_data(r);
          break;
        }
        case ns_t_soa: {
          ares_soa_reply* r = nullptr;
          if (ares_parse_soa_reply(b, len, &r) == ARES_SUCCESS) sum += r->minttl;
          if (r) ares_free_data(r);
          break;
        }
        default: {  // A, CNAME and ANY: the address parser follows CNAMEs and reads the answer section
          hostent* h = nullptr;
          ares_addrttl ttls[64];
          int nt = 64;
          if (ares_parse_a_reply(b, len, &h, ttls, &nt) == ARES_SUCCESS) sum += static_cast<std::size_t>(nt);
          if (h) ares_free_hostent(h);
          break;
        }
      }
    }
  }
  return sum;
}

extern "C" __attribute__((noinline)) std::size_t bench_run_ldns(int n) {
  std::size_t sum = 0;
  for (int i = 0; i < n; ++i) {
    for (const Msg& m : g_corpus) {
      ldns_pkt* p = nullptr;
      if (ldns_wire2pkt(&p, m.bytes.data(), m.bytes.size()) == LDNS_STATUS_OK) {
        sum += ldns_pkt_ancount(p);
        ldns_pkt_free(p);
      }
    }
  }
  return sum;
}

std::vector<std::vector<std::uint8_t>> g_knot_bufs;  // knot_pkt_new wants a mutable buffer

extern "C" __attribute__((noinline)) std::size_t bench_run_knot(int n) {
  std::size_t sum = 0;
  for (int i = 0; i < n; ++i) {
    for (auto& b : g_knot_bufs) {
      knot_pkt_t* p = knot_pkt_new(b.data(), static_cast<std::uint16_t>(b.size()), nullptr);
      if (!p) continue;
      if (knot_pkt_parse(p, 0) == KNOT_EOK) sum += p->rrset_count;
      knot_pkt_free(p);
    }
  }
  return sum;
}

extern "C" __attribute__((noinline)) std::size_t bench_run_none(int n) {
  std::size_t sum = 0;
  for (int i = 0; i < n; ++i)
    for (const Msg& m : g_corpus) sum += m.bytes.size();
  return sum;
}

namespace {
template <std::size_t (*F)(int)>
void BM(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(F(1));
  state.counters["ns_per_msg"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(g_corpus.size()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [--run LIB N | --allocs | benchmark flags]\n", argv[0]);
    return 2;
  }
  load(argv[1]);
  for (const Msg& m : g_corpus) g_knot_bufs.push_back(m.bytes);
  if (argc >= 5 && std::strcmp(argv[2], "--run") == 0) {
    const std::string lib = argv[3];
    const int n = std::atoi(argv[4]);
    std::size_t sum = 0;
    if (lib == "svcres") sum = bench_run_svcres(n);
    else if (lib == "cares") sum = bench_run_cares(n);
    else if (lib == "ldns") sum = bench_run_ldns(n);
    else if (lib == "knot") sum = bench_run_knot(n);
    else sum = bench_run_none(n);
    std::printf("messages=%zu sum=%zu\n", g_corpus.size() * static_cast<std::size_t>(n), sum);
    return 0;
  }
  if (argc >= 3 && std::strcmp(argv[2], "--allocs") == 0) {
    const std::size_t before = g_allocs;
    const std::size_t sum = bench_run_svcres(10);
    std::printf("allocs=%zu messages=%zu sum=%zu\n", g_allocs - before, g_corpus.size() * 10, sum);
    return 0;
  }
  benchmark::RegisterBenchmark("parse/svcres", BM<bench_run_svcres>);
  benchmark::RegisterBenchmark("parse/cares", BM<bench_run_cares>);
  benchmark::RegisterBenchmark("parse/ldns", BM<bench_run_ldns>);
  benchmark::RegisterBenchmark("parse/knot", BM<bench_run_knot>);
  int bargc = argc - 1;
  argv[1] = argv[0];
  benchmark::Initialize(&bargc, argv + 1);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
