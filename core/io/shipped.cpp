#include "core/io/shipped.h"

#include <filesystem>
#include <stdexcept>
#include <vector>

namespace genlab {

namespace fs = std::filesystem;

std::string binary_dir() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec).parent_path().string();
}

std::string installed_data_dir() { return (fs::path(binary_dir()).parent_path() / "share" / "genlab").string(); }

namespace {

// Beside the binary (a build folder), in the installed tree, then the source tree it was built from.
std::vector<fs::path> model_dirs() {
  return {fs::path(binary_dir()) / "assets" / "models", fs::path(installed_data_dir()) / "models",
          fs::path(GENLAB_SOURCE_ASSETS) / "models"};
}

}  // namespace

std::string find_shipped_model(const std::string& name) {
  for (const fs::path& dir : model_dirs())
    if (fs::exists(dir / name)) return (dir / name).string();
  return "";
}

void refuse_shipped_path(const std::string& path) {
  std::error_code ec;
  const fs::path target = fs::weakly_canonical(path, ec).parent_path();
  for (const fs::path& dir : model_dirs())
    if (!ec && fs::exists(dir) && fs::equivalent(target, dir, ec))
      throw std::invalid_argument(path + " is in the shipped models' folder: save under another name");
}

}  // namespace genlab
