// End to end on loopback: the real bootstrap process, a Runtime API stand-in that checks what the
// bootstrap sends, NSD serving the service names, and HTTP backends on 127.0.7.x playing ECS tasks
// (one healthy, one answering 503, one hanging). No part is mocked. One case stops NSD (SIGSTOP) to
// stall DNS; a guard sends SIGCONT on every way out of it.
//
// Environment (all optional):
//   SVCRES_LAMBDA_BOOTSTRAP  bootstrap binary to test (default: the one this build made)
//   SVCRES_LAMBDA_EMULATOR   run it through this program (qemu-aarch64-static for the arm64 build)
//   SVCRES_LAMBDA_PORT_BASE  first of the ports used (default 15500; uses base .. base+99)
//   SVCRES_LAMBDA_RUN_DIR    where NSD's files and the logs go
#include <arpa/inet.h>
#include <sys/socket.h>

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>

#include "common/backend_server.hpp"
#include "mini_json.hpp"
#include "process.hpp"
#include "runtime_standin.hpp"
#include "test.hpp"

using namespace lambda_test;
using namespace std::chrono_literals;
using svcres_examples::BackendServer;
using svcres_test::Json;

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

int port_base() { return std::atoi(env_or("SVCRES_LAMBDA_PORT_BASE", "15500").c_str()); }
int dns_port() { return port_base(); }
int backend_port() { return port_base() + 80; }
std::string run_dir() { return env_or("SVCRES_LAMBDA_RUN_DIR", SVCRES_LAMBDA_RUN_DIR_DEFAULT); }

svcres::Endpoint ep(const std::string& text) { return svcres::Endpoint::parse(text).value(); }

// A hand-built query (RFC 1035 §4.1) for readiness: any reply from the port means NSD is serving.
bool dns_answers(int port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  sa.sin_addr.s_addr = htonl(0x7f000001);
  std::string q("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  q += std::string("\x0cuser-service\x05local\x00", 20);
  q += std::string("\x00\x21\x00\x01", 4);
  ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  pollfd p{fd, POLLIN, 0};
  bool ok = ::poll(&p, 1, 200) == 1;
  char buf[512];
  if (ok) ok = ::recv(fd, buf, sizeof buf, 0) > 12 && buf[0] == 0x12 && buf[1] == 0x34;
  ::close(fd);
  return ok;
}

// `root` and its descendants, from /proc (NSD answers from a child it forks: stopping the main
// process alone leaves DNS running).
std::vector<pid_t> process_tree(pid_t root) {
  std::vector<pid_t> tree{root};
  for (std::size_t i = 0; i < tree.size(); ++i) {
    DIR* d = ::opendir("/proc");
    if (!d) break;
    while (dirent* e = ::readdir(d)) {
      const pid_t pid = std::atoi(e->d_name);
      if (pid <= 0) continue;
      // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
      const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
      const std::size_t close = stat.rfind(')');
      if (close == std::string::npos) continue;
      int ppid = 0;
      char state = 0;
      if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == tree[i] &&
          std::find(tree.begin(), tree.end(), pid) == tree.end())
        tree.push_back(pid);
    }
    ::closedir(d);
  }
  return tree;
}

// NSD (Debian's) authoritative for local. with the services the tests call, plus three HTTP tasks.
struct World {
  std::string dir;
  Process nsd;
  std::unique_ptr<BackendServer> healthy, failing, slow;
  bool ready = false;
  std::string problem;

  World() {
    dir = run_dir();
    ::mkdir(dir.c_str(), 0755);
    int bp = backend_port();
    std::string p = std::to_string(bp);
    write_file(dir + "/local.zone",
               "$ORIGIN local.\n$TTL 5\n"
               "@ 5 IN SOA ns.local. hostmaster.local. ( 1 60 30 600 5 )\n"
               "@ IN NS ns.local.\n"
               "ns IN A 127.0.0.1\n"
               // user-service: one healthy task, one answering 503
               "user-service IN SRV 1 1 " + p + " task-a.user-service.local.\n"
               "user-service IN SRV 1 1 " + p + " task-b.user-service.local.\n"
               "task-a.user-service IN A 127.0.7.1\n"
               "task-b.user-service IN A 127.0.7.2\n"
               // broken-service: its only task answers 503
               "broken-service IN SRV 1 1 " + p + " task-b.user-service.local.\n"
               // slow-service: its only task never answers in time
               "slow-service IN SRV 1 1 " + p + " task-c.slow-service.local.\n"
               // solo-service: the healthy task alone
               "solo-service IN SRV 1 1 " + p + " task-a.user-service.local.\n"
               "task-c.slow-service IN A 127.0.7.3\n");
    write_file(dir + "/nsd.conf",
               "server:\n  ip-address: 127.0.0.1\n  port: " + std::to_string(dns_port()) +
                   "\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"" + dir + "\"\n  pidfile: \"" + dir +
                   "/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"" + dir + "/xfrd.state\"\n  xfrdir: \"" + dir +
                   "\"\n  zonelistfile: \"" + dir + "/zone.list\"\n  logfile: \"" + dir +
                   "/nsd.log\"\n  server-count: 1\n  verbosity: 1\n\nremote-control:\n  control-enable: no\n\n"
                   "zone:\n  name: \"local\"\n  zonefile: \"local.zone\"\n");
    write_file(dir + "/resolv.conf", "# written by lambda_e2e_test\nnameserver 127.0.0.1\noptions timeout:1 attempts:2\n");
    // An NSD left by an earlier run that was killed (its pid is noted in our run folder) would hold
    // the port; end it, but only if it is still that NSD.
    if (int old = std::atoi(read_file(dir + "/nsd.child-pid").c_str()); old > 1) {
      if (read_file("/proc/" + std::to_string(old) + "/cmdline").find(dir + "/nsd.conf") != std::string::npos) {
        ::kill(old, SIGTERM);
        // A run killed during the DNS-stall case may have left it stopped, children too.
        for (pid_t p : process_tree(old)) ::kill(p, SIGCONT);
        std::this_thread::sleep_for(300ms);
      }
    }
    std::string nsd_bin = access("/usr/sbin/nsd", X_OK) == 0 ? "/usr/sbin/nsd" : "nsd";
    if (!nsd.start({nsd_bin, "-d", "-c", dir + "/nsd.conf"}, {}, dir + "/nsd.out", dir + "/nsd.err")) {
      problem = "cannot start nsd";
      return;
    }
    write_file(dir + "/nsd.child-pid", std::to_string(nsd.pid()));
    for (int i = 0; i < 100 && !dns_answers(dns_port()); ++i) {
      if (nsd.exited()) {
        problem = "nsd exited: " + nsd.err() + read_file(dir + "/nsd.log");
        return;
      }
      std::this_thread::sleep_for(100ms);
    }
    if (!dns_answers(dns_port())) {
      problem = "nsd does not answer on 127.0.0.1:" + std::to_string(dns_port());
      return;
    }
    healthy = std::make_unique<BackendServer>(ep("127.0.7.1:" + p), BackendServer::Mode::healthy);
    failing = std::make_unique<BackendServer>(ep("127.0.7.2:" + p), BackendServer::Mode::failing);
    slow = std::make_unique<BackendServer>(ep("127.0.7.3:" + p), BackendServer::Mode::slow, 20s);
    for (BackendServer* b : {healthy.get(), failing.get(), slow.get()}) {
      auto s = b->start();
      if (!s) {
        problem = "backend: " + s.text();
        return;
      }
    }
    ready = true;
  }
};

World& world() {
  static World w;
  return w;
}

// One bootstrap process against its own Runtime API stand-in.
struct Runtime {
  RuntimeApiStandin api;
  Process proc;
  std::string name;

  Runtime(const std::string& scenario, int port_offset) : api(ep("127.0.0.1:" + std::to_string(port_base() + port_offset))), name(scenario) {}

  bool start(std::vector<std::string> env) {
    if (!api.start()) return false;
    std::string bin = env_or("SVCRES_LAMBDA_BOOTSTRAP", SVCRES_LAMBDA_BOOTSTRAP_DEFAULT);
    std::vector<std::string> argv;
    std::string emu = env_or("SVCRES_LAMBDA_EMULATOR", "");
    if (!emu.empty()) argv.push_back(emu);
    argv.push_back(bin);
    env.push_back("AWS_LAMBDA_RUNTIME_API=" + api.address());
    env.push_back("AWS_LAMBDA_FUNCTION_NAME=" + function_name());
    bool has_ns = false, has_conf = false;
    for (const std::string& e : env) {
      has_ns |= e.rfind("SVCRES_NAMESERVER=", 0) == 0;
      has_conf |= e.rfind("SVCRES_RESOLV_CONF=", 0) == 0;
    }
    if (!has_conf) env.push_back("SVCRES_RESOLV_CONF=" + world().dir + "/resolv.conf");
    if (!has_ns) env.push_back("SVCRES_NAMESERVER=127.0.0.1:" + std::to_string(dns_port()));
    return proc.start(argv, env, world().dir + "/" + name + ".stdout", world().dir + "/" + name + ".stderr");
  }

  // Stops the bootstrap once it has finished every invocation handed to it.
  void finish() {
    CHECK(api.wait_idle(20s));
    proc.stop();
  }

  std::string function_name() const { return "e2e-" + name; }

  std::vector<Json> emf_lines() {
    std::vector<Json> out;
    std::stringstream ss(proc.out());
    std::string line;
    while (std::getline(ss, line)) {
      Json v;
      INFO(line);
      REQUIRE(svcres_test::parse_json(line, v));  // stdout carries only EMF documents, one per line
      out.push_back(std::move(v));
    }
    return out;
  }

  std::string logs() { return proc.err(); }
};

double num(const Json& v, const std::string& key) {
  INFO(key);
  REQUIRE(v[key].kind == Json::Kind::number);
  return v[key].num;
}
std::string str(const Json& v, const std::string& key) {
  INFO(key);
  REQUIRE(v[key].kind == Json::Kind::string);
  return v[key].str;
}
std::size_t count_items(const std::string& comma_list) {
  return comma_list.empty() ? 0 : static_cast<std::size_t>(std::count(comma_list.begin(), comma_list.end(), ',')) + 1;
}

// Per the EMF specification: every declared dimension is a string member and every declared metric
// a number member of the document. Also the names this runtime promises, its dimension values, and
// what holds for any invocation: one call, so every try after the first is a retry.
void check_emf(const Json& v, const Runtime& rt, const std::string& target) {
  REQUIRE(v["_aws"]["Timestamp"].kind == Json::Kind::number);
  const Json& cwm = v["_aws"]["CloudWatchMetrics"];
  REQUIRE(cwm.items.size() == 1);
  const Json& d = cwm.items[0];
  CHECK(str(d, "Namespace") == "svcres/lambda");
  REQUIRE(!d["Dimensions"].items.empty());
  for (const Json& set : d["Dimensions"].items)
    for (const Json& dim : set.items) CHECK(!str(v, dim.str).empty());
  std::set<std::string> declared;
  for (const Json& m : d["Metrics"].items) {
    declared.insert(str(m, "Name"));
    CHECK(!str(m, "Unit").empty());
    num(v, str(m, "Name"));
  }
  for (const char* name : {"RequestCount", "SuccessCount", "HTTPCode_Target_5XX_Count", "TimeoutCount", "RetryCount",
                           "TargetResponseTime", "DnsResolutionCount", "DnsPacketsSent", "DnsFailureCount",
                           "EndpointsKnown", "InvocationLatency", "InvocationErrors"}) {
    INFO(name);
    CHECK(declared.count(name) == 1);
  }
  CHECK(str(v, "DiscoveryName") == rt.function_name());
  CHECK(str(v, "TargetDiscoveryName") == target);
  CHECK(num(v, "DnsFailureCount") == 0);
  CHECK(count_items(str(v, "triedTasks")) == num(v, "RequestCount"));
  if (num(v, "RequestCount") > 0) {
    CHECK(num(v, "RetryCount") == num(v, "RequestCount") - 1);
    CHECK(num(v, "TargetResponseTime") > 0);
  } else {
    CHECK(num(v, "RetryCount") == 0);
  }
  CHECK((str(v, "outcome") == "ok") == (num(v, "InvocationErrors") == 0));
  CHECK((str(v, "outcome") == "ok") == str(v, "errorType").empty());
}

// Stops the bootstrap and returns its EMF lines, one per invocation id in `ids` in that order, each
// checked by check_emf and against its request id.
std::vector<Json> finish_and_read_emf(Runtime& rt, const std::string& target, const std::vector<std::string>& ids) {
  rt.finish();
  std::vector<Json> lines = rt.emf_lines();
  REQUIRE(lines.size() == ids.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO(ids[i]);
    check_emf(lines[i], rt, target);
    CHECK(str(lines[i], "requestId") == ids[i]);
  }
  return lines;
}

Invocation invocation(const std::string& id, std::string event = "{\"user\":42}") {
  Invocation i;
  i.id = id;
  i.event = std::move(event);
  return i;
}

}  // namespace

TEST_CASE("bootstrap serves invocations through svcres, retries on another task, survives bad input",
          "[e2e][serve]") {
  World& w = world();
  INFO(w.problem);
  REQUIRE(w.ready);
  std::size_t failing_before = w.failing->hits(), healthy_before = w.healthy->hits();
  Runtime rt("serve", 10);
  REQUIRE(rt.start({"SVCRES_BACKEND=user-service.local", "SVCRES_BACKEND_PATH=/users/lookup", "SVCRES_POLICY=round_robin"}));
  REQUIRE(rt.api.wait_next_count(1, 20s));
  double cold_ms = std::chrono::duration<double, std::milli>(rt.api.first_next_at() - rt.proc.started()).count();
  std::printf("RESULT lambda_cold_start bootstrap=%s first_next_ms=%.1f\n",
              env_or("SVCRES_LAMBDA_EMULATOR", "").empty() ? "native" : "emulated", cold_ms);
  INFO(rt.logs());
  CHECK(rt.logs().find("resolver configuration from") != std::string::npos);
  CHECK(rt.logs().find("nameservers 127.0.0.1:" + std::to_string(dns_port())) != std::string::npos);
  CHECK(rt.logs().find("timeout 1000 ms; attempts 2") != std::string::npos);

  // A series of ordinary invocations: every answer comes from the healthy task.
  const int n = 12;
  std::size_t served = 0;
  for (int i = 0; i < n; ++i) {
    Invocation inv = invocation("ok-" + std::to_string(i));
    inv.chunked = i % 3 == 1;  // the Runtime API may frame the event either way
    rt.api.push(inv);
    Result r;
    REQUIRE(rt.api.wait_result(inv.id, 10s, r));
    INFO(r.body);
    CHECK_FALSE(r.is_error);
    Json body;
    REQUIRE(svcres_test::parse_json(r.body, body));
    CHECK(str(body, "task") == w.healthy->name());
    CHECK(str(body, "path") == "/users/lookup");
    CHECK(num(body, "request_bytes") == 11);
    ++served;
  }
  std::size_t failing_hits = w.failing->hits() - failing_before;
  CHECK(failing_hits >= 1);  // round robin over two tasks reaches the failing one

  // Bad input from the Runtime API; each is answered (when it names an invocation) and the runtime
  // keeps serving.
  Invocation garbage;  // no request id can be read: nothing to answer, the runtime asks again
  garbage.id = "garbage";
  garbage.raw_reply = "HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}";
  garbage.expect_result = false;
  rt.api.push(garbage);
  Invocation bad_deadline;
  bad_deadline.id = "bad-deadline";
  bad_deadline.raw_reply = "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: bad-deadline\r\n"
                           "Lambda-Runtime-Deadline-Ms: soon\r\nContent-Length: 2\r\n\r\n{}";
  rt.api.push(bad_deadline);
  Invocation cut;
  cut.id = "cut-body";
  cut.raw_reply = "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: cut-body\r\n"
                  "Lambda-Runtime-Deadline-Ms: 99999999999999\r\nContent-Length: 100\r\n\r\n{\"trunc";
  rt.api.push(cut);
  Invocation too_big = invocation("too-big", std::string(6 * 1024 * 1024 + 1, 'x'));
  rt.api.push(too_big);
  Invocation bad_header;
  bad_header.id = "bad-header";
  bad_header.raw_reply = "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: bad-header\r\nBroken Header: x\r\n"
                         "Content-Length: 2\r\n\r\n{}";
  rt.api.push(bad_header);
  struct Expect {
    const char* id;
    const char* type;
    const char* says;
  } expects[] = {
      {"bad-deadline", "Runtime.MalformedInvocation", "Lambda-Runtime-Deadline-Ms"},
      {"cut-body", "Runtime.MalformedInvocation", "closed"},
      {"too-big", "Runtime.EventTooLarge", "over the limit"},
      {"bad-header", "Runtime.MalformedInvocation", "header name"},
  };
  for (const Expect& e : expects) {
    INFO(e.id);
    Result r;
    REQUIRE(rt.api.wait_result(e.id, 10s, r));
    CHECK(r.is_error);
    CHECK(r.error_type == e.type);
    CHECK(r.error_type_header == e.type);
    CHECK(r.error_message.find(e.says) != std::string::npos);
  }
  Invocation after = invocation("after-bad-input");
  rt.api.push(after);
  Result r;
  REQUIRE(rt.api.wait_result(after.id, 10s, r));
  CHECK_FALSE(r.is_error);
  CHECK(rt.logs().find("2OO") != std::string::npos);  // the unanswerable reply was logged clearly
  CHECK_FALSE(rt.proc.exited());

  // Metrics: one EMF line per answered invocation, in order; the retries are exactly the 503s, and
  // the tries (RequestCount) exactly the requests the two tasks received.
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back("ok-" + std::to_string(i));
  for (const Expect& e : expects) ids.push_back(e.id);
  ids.push_back(after.id);
  auto lines = finish_and_read_emf(rt, "user-service.local", ids);
  const std::size_t failed_tries = w.failing->hits() - failing_before;  // every one answered 503
  const std::size_t tries_seen = failed_tries + w.healthy->hits() - healthy_before;
  double retries = 0, errors = 0, tries = 0, http_5xx = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Json& v = lines[i];
    INFO(ids[i]);
    CHECK(num(v, "EndpointsKnown") == 2);
    CHECK(num(v, "DnsStaleAnswerCount") == 0);
    retries += num(v, "RetryCount");
    errors += num(v, "InvocationErrors");
    tries += num(v, "RequestCount");
    http_5xx += num(v, "HTTPCode_Target_5XX_Count");
    if (str(v, "outcome") == "ok") {
      CHECK(str(v, "task") == w.healthy->name());
      CHECK(num(v, "SuccessCount") == 1);
      CHECK(num(v, "HTTPCode_Target_5XX_Count") == num(v, "RetryCount"));  // every failed try was a 503
      CHECK(num(v, "InvocationLatency") > 0);
    } else {
      CHECK(num(v, "RequestCount") == 0);  // the malformed replies never reach the backend
      CHECK(str(v, "task").empty());
    }
  }
  CHECK(retries == static_cast<double>(failed_tries));
  CHECK(http_5xx == static_cast<double>(failed_tries));
  CHECK(tries == static_cast<double>(tries_seen));
  CHECK(errors == 4);
  CHECK(str(lines[n], "errorType") == "Runtime.MalformedInvocation");
  CHECK(str(lines[n + 2], "errorType") == "Runtime.EventTooLarge");
  auto violations = rt.api.violations();
  for (const std::string& v : violations) UNSCOPED_INFO(v);
  CHECK(violations.empty());
  CHECK(rt.api.connections() <= 7);  // keep-alive: one connection, plus one per broken reply
  CHECK(served == n);
}

TEST_CASE("when every try fails the caller gets a structured error", "[e2e]") {
  World& w = world();
  INFO(w.problem);
  REQUIRE(w.ready);
  std::size_t before = w.failing->hits();
  Runtime rt("broken", 20);
  REQUIRE(rt.start({"SVCRES_BACKEND=broken-service.local", "SVCRES_MAX_TRIES=3"}));
  for (int i = 0; i < 2; ++i) {
    Invocation inv = invocation("broken-" + std::to_string(i));
    rt.api.push(inv);
    Result r;
    REQUIRE(rt.api.wait_result(inv.id, 10s, r));
    INFO(r.body);
    CHECK(r.is_error);
    CHECK(r.error_type == "Backend.Unavailable");
    CHECK(r.error_message.find("3 tries") != std::string::npos);
    CHECK(r.error_message.find("HTTP 503") != std::string::npos);
  }
  CHECK(w.failing->hits() - before == 6);
  for (const Json& v : finish_and_read_emf(rt, "broken-service.local", {"broken-0", "broken-1"})) {
    CHECK(num(v, "InvocationErrors") == 1);
    CHECK(num(v, "RequestCount") == 3);
    CHECK(num(v, "RetryCount") == 2);
    CHECK(num(v, "HTTPCode_Target_5XX_Count") == 3);
    CHECK(num(v, "SuccessCount") == 0);
    CHECK(num(v, "EndpointsKnown") == 1);
    CHECK(str(v, "errorType") == "Backend.Unavailable");
  }
  CHECK(rt.api.violations().empty());
}

TEST_CASE("a hanging backend: the error is posted before Lambda's deadline and serving goes on", "[e2e]") {
  World& w = world();
  INFO(w.problem);
  REQUIRE(w.ready);
  Runtime rt("slow", 30);
  REQUIRE(rt.start({"SVCRES_BACKEND=slow-service.local", "SVCRES_TRY_TIMEOUT_MS=400", "SVCRES_DEADLINE_MARGIN_MS=300"}));
  for (int i = 0; i < 2; ++i) {
    Invocation inv = invocation("slow-" + std::to_string(i));
    inv.deadline_ms = unix_ms_now() + 1500;
    rt.api.push(inv);
    Result r;
    REQUIRE(rt.api.wait_result(inv.id, 10s, r));
    INFO(r.error_message);
    CHECK(r.is_error);
    CHECK(r.error_type == "Backend.DeadlineExceeded");
    CHECK(r.at_unix_ms < inv.deadline_ms);          // Lambda's deadline respected
    CHECK(r.at_unix_ms >= inv.deadline_ms - 500);   // and the time before it was used, not wasted
  }
  for (const Json& v : finish_and_read_emf(rt, "slow-service.local", {"slow-0", "slow-1"})) {
    CHECK(num(v, "RequestCount") >= 2);  // 400 ms tries within a 1200 ms budget
    CHECK(num(v, "TimeoutCount") == num(v, "RequestCount"));
    CHECK(num(v, "SuccessCount") == 0);
    CHECK(num(v, "InvocationLatency") < 1500);
    CHECK(str(v, "errorType") == "Backend.DeadlineExceeded");
  }
  CHECK(rt.api.violations().empty());
}

TEST_CASE("no DNS server at start-up: init error posted, no invocation taken", "[e2e][init]") {
  World& w = world();
  INFO(w.problem);
  REQUIRE(w.ready);
  Runtime rt("init-error", 40);
  REQUIRE(rt.start({"SVCRES_NAMESERVER=127.0.0.1:" + std::to_string(port_base() + 99)}));
  Result r;
  REQUIRE(rt.api.wait_init_error(20s, r));
  CHECK(r.error_type == "Runtime.ServiceDiscoveryFailed");
  CHECK(r.error_type_header == "Runtime.ServiceDiscoveryFailed");
  CHECK(r.error_message.find("user-service.local") != std::string::npos);
  REQUIRE(rt.proc.wait_exit(10s));
  CHECK(rt.proc.exit_code() == 1);
  CHECK(rt.api.next_calls() == 0);
  CHECK(rt.api.violations().empty());

  Runtime bad_cfg("init-config", 41);
  REQUIRE(bad_cfg.start({"SVCRES_MAX_TRIES=lots"}));
  Result c;
  REQUIRE(bad_cfg.api.wait_init_error(20s, c));
  CHECK(c.error_type == "Runtime.InvalidConfiguration");
  CHECK(c.error_message.find("SVCRES_MAX_TRIES") != std::string::npos);
}

TEST_CASE("SVCRES_BACKEND that is no DNS name of at most 253 characters: init error, never cut", "[e2e][init]") {
  World& w = world();
  INFO(w.problem);
  REQUIRE(w.ready);
  // 254 characters; Service keeps 253 bytes of a name, so a cut instead of a refusal would resolve
  // another name (and fail as Runtime.ServiceDiscoveryFailed, blaming DNS for a configuration error).
  std::string label(55, 'b');
  std::string l63(63, 'a');
  std::string long_name = l63 + "." + l63 + "." + l63 + "." + label + ".local" + "x";
  REQUIRE(long_name.size() == 254);
  struct Case {
    const char* scenario;
    int port_offset;
    std::string backend;
    const char* says;
  } cases[] = {
      {"init-long-backend", 42, long_name, "at most 253"},
      {"init-bad-backend", 43, "user..service.local", "not a DNS name"},
      {"init-label-backend", 44, std::string(64, 'l') + ".local", "not a DNS name"},
  };
  for (const Case& k : cases) {
    INFO(k.scenario);
    Runtime rt(k.scenario, k.port_offset);
    REQUIRE(rt.start({"SVCRES_BACKEND=" + k.backend}));
    Result r;
    REQUIRE(rt.api.wait_init_error(20s, r));
    INFO(r.error_message);
    CHECK(r.error_type == "Runtime.InvalidConfiguration");
    CHECK(r.error_type_header == "Runtime.InvalidConfiguration");
    CHECK(r.error_message.find("SVCRES_BACKEND") != std::string::npos);
    CHECK(r.error_message.find(k.says) != std::string::npos);
    REQUIRE(rt.proc.wait_exit(10s));
    CHECK(rt.proc.exit_code() == 1);
    CHECK(rt.api.next_calls() == 0);
    CHECK(rt.api.violations().empty());
  }
}

// Stops a process tree; SIGCONT on every way out, so NSD (which every later case and the next run
// use, and which ignores SIGTERM while stopped) never stays stopped.
class StoppedTree {
 public:
  explicit StoppedTree(pid_t root) : pids_(process_tree(root)) {
    for (pid_t p : pids_) ::kill(p, SIGSTOP);
  }
  ~StoppedTree() { resume(); }
  StoppedTree(const StoppedTree&) = delete;
  StoppedTree& operator=(const StoppedTree&) = delete;
  void resume() {
    for (pid_t p : pids_) ::kill(p, SIGCONT);
  }
  std::size_t size() const { return pids_.size(); }

 private:
  std::vector<pid_t> pids_;
};

TEST_CASE("DNS stalls once the TTL has passed: the answer beats Lambda's deadline, DNS named", "[e2e][dns-stall]") {
  World& w = world();
  INFO(w.problem);
  REQUIRE(w.ready);
  // glibc's defaults, timeout 5 s and 2 attempts, wait 5 s + 10 s for a silent server: longer than
  // the invocation's 8 s. Only the deadline can bound the refresh.
  write_file(w.dir + "/resolv-defaults.conf",
             "# written by lambda_e2e_test: default timeout and attempts\nnameserver 127.0.0.1\n");
  Runtime rt("dns-stall", 50);
  REQUIRE(rt.start({"SVCRES_BACKEND=solo-service.local", "SVCRES_RESOLV_CONF=" + w.dir + "/resolv-defaults.conf"}));
  Invocation warm = invocation("stall-warm");
  rt.api.push(warm);
  Result first;
  REQUIRE(rt.api.wait_result(warm.id, 10s, first));
  CHECK_FALSE(first.is_error);
  INFO(rt.logs());
  CHECK(rt.logs().find("timeout 5000 ms; attempts 2") != std::string::npos);

  // The zone's TTL is 5 s from the init's resolution: after 6 s the next pick refreshes.
  std::this_thread::sleep_for(6s);
  const pid_t nsd = w.nsd.pid();
  REQUIRE(nsd > 0);
  StoppedTree stopped(nsd);
  REQUIRE(stopped.size() >= 2);  // NSD's main process and the server it forked
  REQUIRE_FALSE(dns_answers(dns_port()));
  Invocation stalled = invocation("stall-0");
  const std::int64_t pushed_ms = unix_ms_now();
  stalled.deadline_ms = pushed_ms + 8000;
  rt.api.push(stalled);
  Result r;
  const bool answered = rt.api.wait_result(stalled.id, 30s, r);
  stopped.resume();
  REQUIRE(answered);
  std::printf("RESULT lambda_dns_stall deadline_ms=8000 answered_after_ms=%lld error_type=%s\n",
              static_cast<long long>(r.at_unix_ms - pushed_ms), r.error_type.c_str());
  INFO(r.error_type + ": " + r.error_message);
  CHECK(r.at_unix_ms < stalled.deadline_ms);  // Lambda's deadline respected
  // Two right answers: an error that says DNS ran the time out, or, when the Service bounded the
  // refresh so that time was left for a try, the backend's answer from the set in hand (the EMF line
  // below then shows the failed refresh).
  if (r.is_error) {
    CHECK(r.error_type == "Backend.DiscoveryTimeout");
    CHECK(r.error_type_header == "Backend.DiscoveryTimeout");
    CHECK(r.error_message.find("DNS") != std::string::npos);
  }

  // NSD back: the function serves again.
  Invocation after = invocation("stall-after");
  rt.api.push(after);
  Result again;
  REQUIRE(rt.api.wait_result(after.id, 20s, again));
  CHECK_FALSE(again.is_error);

  rt.finish();
  std::vector<Json> lines = rt.emf_lines();
  REQUIRE(lines.size() == 3);
  const Json& v = lines[1];
  CHECK(str(v, "requestId") == "stall-0");
  CHECK(str(v, "errorType") == (r.is_error ? "Backend.DiscoveryTimeout" : ""));
  CHECK(num(v, "DnsResolutionCount") >= 1);
  CHECK(num(v, "DnsFailureCount") + num(v, "DnsStaleAnswerCount") >= 1);
  CHECK(num(v, "InvocationLatency") < 8000);
  CHECK(rt.api.violations().empty());
}
