// The sweep's worker pool: each point runs in a child process forked from
// the driver after the plan is made (no exec: the child inherits the parsed
// sweep and the loaded binary), -j computing at a time: a child that has
// written its result and only waits for the disk no longer counts. A child
// is reaped the moment it exits: SIGCHLD writes to a pipe the driver sleeps
// on (the self-pipe trick, which also works when another thread of the
// process takes the signal).
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "sim/experiment/sweep_internal.h"

namespace xpu::experiment {
namespace detail {

namespace {

int g_child_pipe = -1;  // write end, for the signal handler

extern "C" void on_sigchld(int) {
  const int saved = errno;
  const char b = 0;
  ssize_t n = ::write(g_child_pipe, &b, 1);  // non-blocking: a full pipe already wakes the driver
  (void)n;
  errno = saved;
}

// SIGCHLD -> a byte in a pipe, for the lifetime of the object.
class ChildExits {
 public:
  ChildExits() {
    if (::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0) throw SweepError(std::string("pipe: ") + std::strerror(errno));
    g_child_pipe = fds_[1];
    struct sigaction sa {};
    sa.sa_handler = on_sigchld;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    ::sigaction(SIGCHLD, &sa, &old_);
  }
  ~ChildExits() {
    ::sigaction(SIGCHLD, &old_, nullptr);
    g_child_pipe = -1;
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  ChildExits(const ChildExits&) = delete;
  ChildExits& operator=(const ChildExits&) = delete;

  // Sleeps until a child exits, `also` is readable, or `timeout_ms` passes
  // (-1: no limit).
  void wait(int timeout_ms, int also) {
    pollfd p[2] = {{fds_[0], POLLIN, 0}, {also, POLLIN, 0}};
    if (::poll(p, 2, timeout_ms) > 0 && (p[0].revents & POLLIN)) {
      char buf[64];
      while (::read(fds_[0], buf, sizeof buf) > 0) {
      }
    }
  }
  // In a forked child: the parent's handler and pipe are not its own.
  void release_in_child() {
    ::sigaction(SIGCHLD, &old_, nullptr);
    ::close(fds_[0]);
    ::close(fds_[1]);
  }

 private:
  int fds_[2] = {-1, -1};
  struct sigaction old_ {};
};

// Workers tell the driver when they have computed their point and only wait
// for the disk: their pid on a pipe (one write of 4 bytes: atomic).
class Computed {
 public:
  Computed() {
    if (::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0) throw SweepError(std::string("pipe: ") + std::strerror(errno));
  }
  ~Computed() {
    if (fds_[0] >= 0) ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }
  Computed(const Computed&) = delete;
  Computed& operator=(const Computed&) = delete;

  int read_fd() const { return fds_[0]; }
  // The pids announced since the last call.
  std::vector<pid_t> take() {
    std::vector<pid_t> pids;
    pid_t buf[16];
    ssize_t n;
    while ((n = ::read(fds_[0], buf, sizeof buf)) > 0)
      for (ssize_t i = 0; i < n / ssize_t(sizeof(pid_t)); ++i) pids.push_back(buf[i]);
    return pids;
  }
  // In a forked child: announce, once, before the result's disk wait.
  void arm_in_child() {
    ::close(fds_[0]);
    fds_[0] = -1;
    const int fd = fds_[1];
    set_before_flush([fd] {
      const pid_t me = ::getpid();
      ssize_t n = ::write(fd, &me, sizeof me);
      (void)n;  // a full pipe (never, at 4 bytes per worker) only delays the next start
      set_before_flush({});
    });
  }

 private:
  int fds_[2] = {-1, -1};
};

void write_all(int fd, const std::string& text) {
  const char* c = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, c, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the driver then reads the result file instead
    c += n;
    left -= size_t(n);
  }
}

// A finished worker's digest into `digests` (its JSON text: parsed by
// finish_sweep, which reads the result file instead when it is missing or
// unreadable).
void take_digest(int fd, const SweepPoint& p, std::map<std::string, std::string>& digests) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size <= 0) return;
  std::string text(size_t(st.st_size), '\0');
  if (::pread(fd, text.data(), text.size(), 0) != ssize_t(text.size())) return;
  digests[p.id] = std::move(text);
}

// The child's whole life: run the point, commit its result, exit without
// the parent's exit handlers.
[[noreturn]] void child_main(const SweepPlan& plan, const SweepPoint& p, const std::string& out, const std::string& log,
                             const SweepOptions& opts) {
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::close(fd);
  }
  spdlog::set_level(spdlog::level::warn);  // what -q gives a worker
  int rc = 2;
  try {
    rc = opts.guard ? opts.guard([&] { return run_point(plan, p, out, opts); }) : run_point(plan, p, out, opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
  }
  std::fflush(nullptr);
  ::_exit(rc);
}

}  // namespace

void execute_points(const SweepPlan& plan, const std::vector<const SweepPoint*>& todo, const std::string& result_dir,
                    const SweepOptions& opts, const std::function<void(const SweepPoint&, bool)>& on_done,
                    const std::function<bool()>& idle, std::map<std::string, std::string>* digests) {
  struct Job {
    const SweepPoint* p;
    pid_t pid;
    bool computing = true;  // false once it only waits for its result's write
    int digest_fd = -1;     // its result's digest (a memfd), when asked for
  };
  std::vector<Job> running;
  // Points that lower alike run one after the other, so each group is
  // lowered once, just before its first worker is forked.
  std::vector<const SweepPoint*> order = todo;
  std::stable_sort(order.begin(), order.end(), [&](const SweepPoint* a, const SweepPoint* b) {
    return plan.lowering_group[a->index] < plan.lowering_group[b->index];
  });
  size_t next = 0;
  const unsigned jobs = std::max(1u, opts.jobs);
  const pid_t parent = ::getpid();
  ChildExits exits;
  Computed computed;
  auto computing = [&] { return size_t(std::count_if(running.begin(), running.end(), [](const Job& j) { return j.computing; })); };
  for (;;) {
    for (pid_t pid : computed.take())
      for (auto& j : running)
        if (j.pid == pid) j.computing = false;
    while (computing() < jobs && next < order.size()) {
      const SweepPoint* p = order[next++];
      const std::string out = result_dir + "/" + p->id + ".json";
      const std::string log = result_dir + "/" + p->id + ".log";
      before_fork(plan, *p);
      const int digest_fd = digests ? ::memfd_create("xpusim-point-digest", MFD_CLOEXEC) : -1;
      std::fflush(nullptr);  // nothing buffered may be written twice
      const pid_t pid = ::fork();
      if (pid < 0) {
        if (digest_fd >= 0) ::close(digest_fd);
        throw SweepError(std::string("fork failed: ") + std::strerror(errno));
      }
      if (pid == 0) {
        // The worker dies with the sweep (SIGKILL included): no orphan can
        // commit a result behind a resumed sweep's back.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(3);
        exits.release_in_child();
        computed.arm_in_child();
        if (digest_fd >= 0) set_digest_sink([digest_fd](const std::string& text) { write_all(digest_fd, text); });
        child_main(plan, *p, out, log, opts);
      }
      running.push_back(Job{p, pid, true, digest_fd});
    }
    bool progressed = false;
    for (size_t i = 0; i < running.size();) {
      int status = 0;
      const pid_t r = ::waitpid(running[i].pid, &status, WNOHANG);
      if (r == 0 || (r < 0 && errno == EINTR)) {
        ++i;
        continue;
      }
      const SweepPoint& p = *running[i].p;
      const bool ok = r == running[i].pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (ok) ::unlink((result_dir + "/" + p.id + ".log").c_str());
      if (running[i].digest_fd >= 0) {
        if (ok) take_digest(running[i].digest_fd, p, *digests);
        ::close(running[i].digest_fd);
      }
      running.erase(running.begin() + long(i));
      on_done(p, ok);
      progressed = true;
    }
    const bool more = idle ? idle() : false;
    if (running.empty() && next >= order.size() && !more) break;
    if (progressed && computing() < jobs && next < order.size()) continue;
    // Asleep until a worker exits or has computed its point; with work
    // arriving from elsewhere (MPI results, which have no file descriptor to
    // wait on) look again after 1 ms.
    exits.wait(idle ? 1 : -1, computed.read_fd());
  }
}

}  // namespace detail
}  // namespace xpu::experiment
