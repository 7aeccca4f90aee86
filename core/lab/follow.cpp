#include "core/lab/follow.h"

#include <sys/stat.h>

namespace genlab {

bool CheckpointWatch::changed() {
  struct stat st {};
  Seen now;
  if (::stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    now = {true, uint64_t(st.st_ino), uint64_t(st.st_size), int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  if (now == seen_) return false;
  seen_ = now;
  return now.exists;
}

}  // namespace genlab
