// Following a checkpoint another process rewrites: the watch fires once per replacement, the way
// checkpoints are written (a temporary file renamed into place), and not while nothing changes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/lab/follow.h"

using genlab::CheckpointWatch;

namespace {

// As write_file_atomically does: a temporary file, then a rename over the path.
void replace(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::binary) << bytes;
  std::filesystem::rename(tmp, path);
}

}  // namespace

TEST(CheckpointWatch, FiresOncePerReplacementAndNotForAMissingFile) {
  const std::string path = ::testing::TempDir() + "genlab_follow_" + std::to_string(getpid()) + ".safetensors";
  std::filesystem::remove(path);
  CheckpointWatch watch(path);
  EXPECT_FALSE(watch.changed());  // nothing there yet
  replace(path, "step 1");
  EXPECT_TRUE(watch.changed());
  EXPECT_FALSE(watch.changed());  // seen
  replace(path, "step 2");        // same size, another inode: a new checkpoint all the same
  EXPECT_TRUE(watch.changed());
  EXPECT_FALSE(watch.changed());
  std::filesystem::remove(path);
  EXPECT_FALSE(watch.changed());  // gone: nothing to load
  replace(path, "step 3, after a restart");
  EXPECT_TRUE(watch.changed());
  std::filesystem::create_directories(path + ".dir");
  CheckpointWatch folder(path + ".dir");
  EXPECT_FALSE(folder.changed());  // a folder is never a checkpoint
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".dir");
}
