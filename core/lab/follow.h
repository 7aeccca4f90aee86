// Following a checkpoint that another process rewrites — genlab-cli train --checkpoint-every, or a
// run on another machine writing into a shared folder — so the app shows the model as it trains.
// Checkpoints are written to a temporary file and renamed into place, so a replaced file is always
// a whole one. Torch-free.
#pragma once

#include <cstdint>
#include <string>

namespace genlab {

class CheckpointWatch {
 public:
  explicit CheckpointWatch(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  // True once each time the file is there and differs from the one seen last (another inode,
  // size or modification time): the first call is true when the file exists.
  bool changed();

 private:
  struct Seen {
    bool exists = false;
    uint64_t inode = 0, size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Seen& o) const {
      return exists == o.exists && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns;
    }
  };
  std::string path_;
  Seen seen_;
};

}  // namespace genlab
