#include "sim/experiment/mpi_sweep.h"

#include <cstdlib>
#include <stdexcept>

#ifdef XPUSIM_HAVE_MPI
#include <mpi.h>

#include <chrono>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "sim/config/diagnostics.h"
#include "sim/experiment/sweep_internal.h"
#include "sim/report/atomic_file.h"
#include "sim/report/progress.h"
#endif

namespace xpu::experiment {

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

#ifndef XPUSIM_HAVE_MPI

bool mpi_built() { return false; }
int run_sweep_mpi(const std::string&, const SweepOptions&) {
  throw SweepError("this xpusim was built without MPI (XPUSIM_WITH_MPI=OFF)");
}

#else

bool mpi_built() { return true; }

namespace {

constexpr int kTagResult = 1;  // "<index>\n<point JSON>"
constexpr int kTagFailed = 2;  // "<index>\n<log tail>"
constexpr int kTagDone = 3;    // a rank finished its share

void send(int tag, size_t index, const std::string& body) {
  const std::string msg = std::to_string(index) + "\n" + body;
  MPI_Send(msg.data(), int(msg.size()), MPI_CHAR, 0, tag, MPI_COMM_WORLD);
}

struct Finalize {
  ~Finalize() {
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
  }
};

}  // namespace

int run_sweep_mpi(const std::string& sweep_file, const SweepOptions& opts) {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SINGLE, &provided);
  Finalize finalize;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const auto started = std::chrono::system_clock::now();

  // Every rank plans (cheap, and each needs the points); rank 0 alone owns
  // the directory and decides what is pending.
  detail::SweepPlan plan;
  std::string plan_error;
  try {
    plan = detail::plan_sweep(sweep_file, opts);
  } catch (const std::exception& e) {
    plan_error = e.what();
  }
  std::unique_ptr<detail::DirLock> lock;
  std::vector<long long> pending;  // -1 first: rank 0 failed, abort
  if (rank == 0) {
    try {
      if (!plan_error.empty()) throw SweepError(plan_error);
      report::make_dirs(plan.dir);
      lock = std::make_unique<detail::DirLock>(plan.dir);
      for (size_t i : detail::prepare_dir(plan, opts)) pending.push_back((long long)i);
    } catch (const std::exception& e) {
      plan_error = e.what();
      pending.assign(1, -1);
    }
  }
  long long n = (long long)pending.size();
  MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
  pending.resize(size_t(n));
  if (n > 0) MPI_Bcast(pending.data(), int(n), MPI_LONG_LONG, 0, MPI_COMM_WORLD);
  if (n == 1 && pending[0] == -1) {
    if (rank == 0) throw SweepError(plan_error);
    return 1;
  }
  int local_ok = plan_error.empty() ? 1 : 0, all_ok = 0;
  MPI_Allreduce(&local_ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all_ok) {
    if (!plan_error.empty()) throw SweepError("rank " + std::to_string(rank) + ": " + plan_error);
    return 1;
  }

  std::vector<const SweepPoint*> mine;
  for (size_t k = 0; k < pending.size(); ++k)
    if (int(k % size_t(size)) == rank) mine.push_back(&plan.points[size_t(pending[k])]);
  if (rank == 0 && !opts.quiet)
    spdlog::info("sweep {}: {} points, {} to run over {} MPI ranks, -j {} each", plan.cfg.name, plan.points.size(),
                 pending.size(), size, opts.jobs);

  if (rank != 0) {
    // Results go to a private directory, then to rank 0.
    std::string tmpl = "/tmp/xpusim_sweep_rank" + std::to_string(rank) + "_XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw SweepError("cannot create a temporary directory");
    const std::string dir = tmpl;
    detail::execute_points(plan, mine, dir, opts, [&](const SweepPoint& p, bool ok) {
      const std::string out = dir + "/" + p.id + ".json", log = dir + "/" + p.id + ".log";
      if (ok) send(kTagResult, p.index, detail::slurp(out));
      else send(kTagFailed, p.index, detail::slurp(log));
      ::unlink(out.c_str());
      ::unlink(log.c_str());
    });
    MPI_Send(nullptr, 0, MPI_CHAR, 0, kTagDone, MPI_COMM_WORLD);
    ::rmdir(dir.c_str());
    MPI_Barrier(MPI_COMM_WORLD);
    int rc = 0;
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return rc;
  }

  // Rank 0: its own share, plus everything the others send.
  report::Progress bar("points", double(plan.points.size()), opts.progress);
  size_t done = plan.points.size() - pending.size();
  int ranks_left = size - 1;
  auto finished = [&](const SweepPoint& p, bool ok, int from) {
    detail::log_event(plan.dir, std::string(ok ? "done " : "failed ") + std::to_string(p.index) + " " + p.id +
                                    " rank " + std::to_string(from));
    if (!ok) spdlog::error("point {} ({}) failed on rank {}: see {}/points/{}.log", p.index, p.id, from, plan.dir, p.id);
    bar.update(double(++done), p.id);
  };
  for (size_t k = 0; k < pending.size(); ++k)
    detail::log_event(plan.dir, "queued " + std::to_string(pending[k]) + " " + plan.points[size_t(pending[k])].id +
                                    " rank " + std::to_string(k % size_t(size)));
  auto poll = [&]() -> bool {
    for (;;) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
      if (!flag) break;
      int count = 0;
      MPI_Get_count(&st, MPI_CHAR, &count);
      std::string msg(size_t(count), '\0');
      MPI_Recv(msg.data(), count, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (st.MPI_TAG == kTagDone) {
        --ranks_left;
        continue;
      }
      const auto nl = msg.find('\n');
      const size_t index = std::stoul(msg.substr(0, nl));
      const std::string body = msg.substr(nl + 1);
      const SweepPoint& p = plan.points.at(index);
      bool ok = st.MPI_TAG == kTagResult;
      if (ok) {
        std::string err;
        if (!detail::commit_no_replace(detail::result_path(plan.dir, p), body, err)) {
          spdlog::error("{}", err);
          ok = false;
        }
      } else {
        report::write_atomically(plan.dir + "/points/" + p.id + ".log", body);
      }
      finished(p, ok, st.MPI_SOURCE);
    }
    return ranks_left > 0;
  };
  detail::execute_points(plan, mine, plan.dir + "/points", opts,
                         [&](const SweepPoint& p, bool ok) { finished(p, ok, 0); }, poll);
  bar.finish();
  MPI_Barrier(MPI_COMM_WORLD);
  int rc = detail::finish_sweep(plan, opts, started);
  MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (!opts.quiet) std::printf("report: %s/report.md\n", plan.dir.c_str());
  return rc;
}

#endif

}  // namespace xpu::experiment
