#include "sim/report/atomic_file.h"

#include "sim/common/errors.h"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace xpu::report {

namespace {
IoError io_error(const std::string& what, const std::string& path) { return IoError(path, what, errno); }
}  // namespace

void make_dirs(const std::string& dir) {
  if (dir.empty()) return;
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    struct stat st {};
    if (::stat(partial.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) throw IoError(partial, "exists and is not a directory", 0);
      continue;
    }
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) throw io_error("cannot create directory", partial);
  }
}

void write_atomically(const std::string& path, const std::string& content) {
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string tmpl = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw io_error("cannot create temporary file", path);
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto err = io_error("write failed", path);
      ::close(fd);
      ::unlink(tmpl.c_str());
      throw err;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::fchmod(fd, 0644);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    auto err = io_error("flush failed", path);
    ::unlink(tmpl.c_str());
    throw err;
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    auto err = io_error("rename failed", path);
    ::unlink(tmpl.c_str());
    throw err;
  }
  // Make the rename itself durable.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace xpu::report
