// The sweep's output directory: its lock, the plan file, point results
// committed once each (link(2) from a flushed temporary), and points.log.
#include <cerrno>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "sim/experiment/sweep_internal.h"
#include "sim/report/atomic_file.h"

namespace xpu::experiment {
namespace detail {

namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

}  // namespace

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

DirLock::DirLock(const std::string& dir) {
  const std::string path = dir + "/.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw SweepError(path + ": cannot open: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw SweepError(dir + ": another sweep is running in this directory");
  }
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::string result_path(const std::string& dir, const SweepPoint& p) { return dir + "/points/" + p.id + ".json"; }

bool has_result(const std::string& dir, const SweepPoint& p) {
  struct stat st {};
  return ::stat(result_path(dir, p).c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

namespace {
std::function<void()> g_before_flush;
}  // namespace

void set_before_flush(std::function<void()> hook) { g_before_flush = std::move(hook); }

namespace {
std::function<void(const std::string&)> g_digest_sink;
}  // namespace

void set_digest_sink(std::function<void(const std::string&)> sink) { g_digest_sink = std::move(sink); }

void send_digest(const nlohmann::json& result) {
  if (g_digest_sink) g_digest_sink(result_digest(result).dump());
}

bool commit_no_replace(const std::string& path, const std::string& content, std::string& err) {
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    err = path + ": cannot create temporary file: " + std::strerror(errno);
    return false;
  }
  const char* p = content.data();
  size_t left = content.size();
  bool ok = true;
  while (left > 0 && ok) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else p += n, left -= size_t(n);
  }
  ::fchmod(fd, 0644);
  // The data reaches the disk before the name can (report::flush_data: no
  // journal commit per point); the driver makes the names durable with one
  // fsync of the directory (sync_dir). A link lost in a crash only means
  // the point runs again.
  if (ok && g_before_flush) g_before_flush();
  ok = ok && report::flush_data(fd);
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    err = path + ": write failed: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  // link(2) fails with EEXIST instead of replacing: a point is committed once.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    err = errno == EEXIST ? path + ": a result for this point already exists (the point ran twice)"
                          : path + ": cannot commit: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  ::unlink(tmp.c_str());
  return true;
}

void sync_dir(const std::string& dir) {
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  ::fsync(dfd);
  ::close(dfd);
}

void log_event(const std::string& dir, const std::string& what) {
  const std::string line = utc_now() + " " + what + "\n";
  const int fd = ::open((dir + "/points.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t n = ::write(fd, line.data(), line.size());  // one write: lines never interleave
  (void)n;
  ::close(fd);
}

std::vector<size_t> prepare_dir(const SweepPlan& plan, const SweepOptions& opts) {
  report::make_dirs(plan.dir + "/points");
  const std::string spec_path = plan.dir + "/sweep.json";
  struct stat st {};
  if (::stat(spec_path.c_str(), &st) == 0) {
    if (!opts.resume)
      throw SweepError(plan.dir + " already holds a sweep: add --resume to continue it, or choose another -o");
    nlohmann::json old;
    try {
      old = nlohmann::json::parse(slurp(spec_path));
    } catch (const std::exception& e) {
      throw SweepError(spec_path + ": unreadable: " + e.what());
    }
    if (old != plan.spec) {
      std::string what = "the sweep changed since it started";
      if (old.value("input_sha256", nlohmann::json()) != plan.spec["input_sha256"]) what += " (an input file's contents differ)";
      else if (old.value("points", nlohmann::json()) != plan.spec["points"]) what += " (its points differ)";
      else what += " (its -p overrides differ)";
      throw SweepError(plan.dir + ": cannot resume: " + what + "; run it into another -o directory");
    }
  } else {
    if (opts.resume) spdlog::warn("{}: nothing to resume; starting the sweep", plan.dir);
    report::write_atomically(spec_path, plan.spec.dump(2) + "\n");
  }
  // Temporary files of workers killed mid-commit: never results (a result
  // exists only once linked to its final name); we hold the lock, so no
  // worker of ours is running.
  if (DIR* d = ::opendir((plan.dir + "/points").c_str())) {
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d))
      if (std::strstr(e->d_name, ".json.tmp.")) stale.push_back(plan.dir + "/points/" + e->d_name);
    ::closedir(d);
    for (const auto& s : stale) ::unlink(s.c_str());
  }
  std::vector<size_t> pending;
  for (const auto& p : plan.points)
    if (!has_result(plan.dir, p)) pending.push_back(p.index);
  return pending;
}

}  // namespace detail
}  // namespace xpu::experiment
