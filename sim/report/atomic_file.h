#pragma once
// Reports are written to a temporary file in the target directory, flushed
// to disk and renamed over the target: a crash never leaves half a file.
// The files of one report share one directory fsync (FileSet).
#include <string>
#include <utility>
#include <vector>

namespace xpu::report {

// Creates `dir` and its parents. Throws xpu::IoError naming the path.
void make_dirs(const std::string& dir);
// Writes `content` to `path` atomically. Throws xpu::IoError naming the path.
void write_atomically(const std::string& path, const std::string& content);

// Waits until the data written to `fd` is on the disk (sync_file_range; where
// that is not supported, fdatasync), without flushing the disk cache or the
// filesystem journal: the next journal commit does both, and a name linked
// after this returns becomes durable only with a commit (see FileSet).
// False (errno set) on an I/O error.
bool flush_data(int fd);

// Files of one directory, each written atomically, committed together:
// add() writes each to a temporary file and starts its writeback; commit()
// waits for the data of all (sync_file_range: the pages reach the disk
// without a flush of the disk cache each), renames them into place and
// makes the renames durable with one fsync of the directory. On the
// journalling filesystems Linux uses (ext4, xfs) that fsync commits the
// journal behind a flush of the disk cache, which also holds the data
// written before it, so no name ever points at data that is not on disk;
// where sync_file_range is not supported, each file's data is flushed with
// fdatasync. Temporaries not committed are removed by the destructor.
// Throws xpu::IoError naming the path.
class FileSet {
 public:
  explicit FileSet(std::string dir);
  ~FileSet();
  FileSet(const FileSet&) = delete;
  FileSet& operator=(const FileSet&) = delete;

  void add(const std::string& name, const std::string& content);
  // Returns the paths written, in the order added.
  std::vector<std::string> commit();

 private:
  struct Pending {
    std::string path, tmp;
    int fd = -1;
  };
  std::string dir_;
  std::vector<Pending> pending_;
};

}  // namespace xpu::report
