#pragma once
// Child processes for the Lambda end-to-end tests: spawn with a given environment and stdout/stderr
// sent to files, stop with SIGTERM (and SIGCONT, in case it was stopped) then SIGKILL, read what they
// printed.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace lambda_test {

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { stop(); }

  // argv[0] is a path. `env` entries "NAME=value" are added to (and override) this process's
  // environment; names listed in `unset` are removed.
  bool start(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& out_path,
             const std::string& err_path, const std::vector<std::string>& unset = {}) {
    out_ = out_path;
    err_ = err_path;
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      std::string name = kv.substr(0, kv.find('='));
      bool drop = false;
      for (const std::string& u : unset) drop |= name == u;
      for (const std::string& o : env) drop |= o.substr(0, o.find('=')) == name;
      if (!drop) envs.push_back(kv);
    }
    for (const std::string& o : env) envs.push_back(o);
    std::vector<char*> av, ev;
    for (const std::string& a : argv) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    for (const std::string& e : envs) ev.push_back(const_cast<char*>(e.c_str()));
    ev.push_back(nullptr);
    // New files, not truncated old ones: a process left from a killed earlier run keeps writing to
    // its own (now unlinked) file instead of into ours.
    ::unlink(out_path.c_str());
    ::unlink(err_path.c_str());
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    started_ = std::chrono::steady_clock::now();
    int rc = posix_spawn(&pid_, av[0], &fa, nullptr, av.data(), ev.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) pid_ = -1;
    return rc == 0;
  }

  // Has it exited? Collects the status when so.
  bool exited() {
    if (pid_ <= 0) return true;
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = st;
      pid_ = -1;
      return true;
    }
    return false;
  }
  bool wait_exit(std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (exited()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return exited();
  }
  int exit_code() const { return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_); }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::kill(pid_, SIGCONT);  // a stopped process would hold SIGTERM pending until continued
    if (!wait_exit(std::chrono::milliseconds(3000))) {
      ::kill(pid_, SIGKILL);
      wait_exit(std::chrono::milliseconds(3000));
    }
  }

  pid_t pid() const { return pid_; }
  std::chrono::steady_clock::time_point started() const { return started_; }
  std::string out() const { return read_file(out_); }
  std::string err() const { return read_file(err_); }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  std::string out_, err_;
  std::chrono::steady_clock::time_point started_{};
};

}  // namespace lambda_test
