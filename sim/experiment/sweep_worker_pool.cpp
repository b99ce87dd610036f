// The sweep's worker pool: each point runs in a child process (this
// executable as `xpusim sweep-point`), -j at a time.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "sim/experiment/sweep_internal.h"

namespace xpu::experiment {
namespace detail {

void execute_points(const SweepPlan& plan, const std::vector<const SweepPoint*>& todo, const std::string& result_dir,
                    const SweepOptions& opts, const std::function<void(const SweepPoint&, bool)>& on_done,
                    const std::function<bool()>& idle) {
  struct Job {
    const SweepPoint* p;
    pid_t pid;
  };
  std::vector<Job> running;
  size_t next = 0;
  const unsigned jobs = std::max(1u, opts.jobs);
  const pid_t parent = ::getpid();
  for (;;) {
    while (running.size() < jobs && next < todo.size()) {
      const SweepPoint* p = todo[next++];
      const std::string out = result_dir + "/" + p->id + ".json";
      const std::string log = result_dir + "/" + p->id + ".log";
      std::vector<std::string> args = {opts.self_exe, "sweep-point", plan.file, "--index", std::to_string(p->index),
                                       "--id", p->id, "--out", out, "-q"};
      for (const auto& o : opts.overrides) args.push_back("-p"), args.push_back(o);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      const pid_t pid = ::fork();
      if (pid < 0) throw SweepError(std::string("fork failed: ") + std::strerror(errno));
      if (pid == 0) {
        // The worker dies with the sweep (SIGKILL included): no orphan can
        // commit a result behind a resumed sweep's back.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(3);
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
          ::dup2(fd, 1);
          ::dup2(fd, 2);
          ::close(fd);
        }
        ::execv(argv[0], argv.data());
        std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
        ::_exit(127);
      }
      running.push_back(Job{p, pid});
    }
    bool progressed = false;
    for (size_t i = 0; i < running.size();) {
      int status = 0;
      const pid_t r = ::waitpid(running[i].pid, &status, WNOHANG);
      if (r == 0) {
        ++i;
        continue;
      }
      const SweepPoint& p = *running[i].p;
      const bool ok = r == running[i].pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (ok) ::unlink((result_dir + "/" + p.id + ".log").c_str());
      running.erase(running.begin() + long(i));
      on_done(p, ok);
      progressed = true;
    }
    const bool more = idle ? idle() : false;
    if (running.empty() && next >= todo.size() && !more) break;
    if (!progressed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace detail
}  // namespace xpu::experiment
