#pragma once
// Argument parsing for the svcres tool: every option is checked, nothing is guessed; a bad value is
// a sentence for the usage message, never an exception or a crash.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

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
      why = "unknown option '" + arg + "'";
      return false;
    } else {
      a.positional.push_back(arg);
    }
  }
  return true;
}

}  // namespace svcres_cli
