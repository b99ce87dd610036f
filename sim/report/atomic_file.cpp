#include "sim/report/atomic_file.h"

#include "sim/common/errors.h"

#include <cerrno>
#include <cstdio>
#include <utility>
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
  FileSet files(slash == std::string::npos ? "." : path.substr(0, slash));
  files.add(slash == std::string::npos ? path : path.substr(slash + 1), content);
  files.commit();
}

bool flush_data(int fd) {
  const unsigned wait = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  if (::sync_file_range(fd, 0, 0, wait) == 0) return true;
  return (errno == EINVAL || errno == ENOSYS || errno == ESPIPE) && ::fdatasync(fd) == 0;
}

FileSet::FileSet(std::string dir) : dir_(std::move(dir)) {}

FileSet::~FileSet() {
  for (auto& p : pending_) {
    if (p.fd >= 0) ::close(p.fd);
    if (!p.tmp.empty()) ::unlink(p.tmp.c_str());
  }
}

void FileSet::add(const std::string& name, const std::string& content) {
  Pending p;
  p.path = dir_ + "/" + name;
  p.tmp = p.path + ".tmp.XXXXXX";
  p.fd = ::mkstemp(p.tmp.data());
  if (p.fd < 0) throw io_error("cannot create temporary file", p.path);
  pending_.push_back(p);  // from here on the destructor cleans up
  const int fd = p.fd;
  const char* c = content.data();
  size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, c, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error("write failed", p.path);
    }
    c += n;
    left -= static_cast<size_t>(n);
  }
  ::fchmod(fd, 0644);
  // Start the writeback now; commit() waits for it, all files in parallel.
  ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

std::vector<std::string> FileSet::commit() {
  std::vector<std::string> written;
  for (auto& p : pending_) {
    bool ok = flush_data(p.fd);
    const int fd = p.fd;
    p.fd = -1;
    if (::close(fd) != 0) ok = false;
    if (!ok) throw io_error("flush failed", p.path);
    if (::rename(p.tmp.c_str(), p.path.c_str()) != 0) throw io_error("rename failed", p.path);
    p.tmp.clear();  // renamed: nothing left to remove
    written.push_back(p.path);
  }
  pending_.clear();
  // Make the renames durable, once for all files.
  const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return written;
}

}  // namespace xpu::report
