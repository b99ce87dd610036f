#include "python/src/child_process.h"

#include <pybind11/pybind11.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "python/src/errors.h"

namespace py = pybind11;

namespace xpu::python {

namespace {

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += size_t(n);
  }
}

[[noreturn]] void child_main(int fd, const std::function<int()>& work) {
  // The parent decides about Ctrl-C (it kills the child); a child must never
  // outlive it.
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGTERM, SIG_DFL);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  int rc = 0;
  try {
    rc = work();
  } catch (...) {
    write_all(fd, to_json(record_of(std::current_exception())).dump());
    rc = 1;
  }
  ::close(fd);
  // No atexit handlers or static destructors: they belong to the Python process.
  ::_exit(rc);
}

void stop_child(pid_t pid) {
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
    ::usleep(20000);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace

int run_in_child(const std::function<int()>& work) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  // Output buffered by Python or C stdio would otherwise be written twice.
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(fds[0]);
    child_main(fds[1], work);
  }
  ::close(fds[1]);
  std::string error_text;
  int status = 0;
  bool done = false, eof = false;
  while (!done) {
    {
      py::gil_scoped_release nogil;
      if (!eof) {
        pollfd p{fds[0], POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
          char buf[4096];
          const ssize_t n = ::read(fds[0], buf, sizeof buf);
          if (n > 0) error_text.append(buf, size_t(n));
          else if (n == 0) eof = true;
        }
      } else {
        ::usleep(50000);
      }
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      done = r == pid;
    }
    if (!done && PyErr_CheckSignals() != 0) {
      {
        py::gil_scoped_release nogil;
        stop_child(pid);
      }
      ::close(fds[0]);
      throw py::error_already_set();
    }
  }
  // Whatever the child wrote before it exited is still in the pipe.
  for (;;) {
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    error_text.append(buf, size_t(n));
  }
  ::close(fds[0]);
  if (!error_text.empty()) {
    set_python_error(from_json(nlohmann::json::parse(error_text)));
    throw py::error_already_set();
  }
  if (WIFSIGNALED(status)) {
    set_python_error({"InternalError", std::string("the simulation process died of signal ") +
                                           std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")",
                      {}});
    throw py::error_already_set();
  }
  return WEXITSTATUS(status);
}

}  // namespace xpu::python
