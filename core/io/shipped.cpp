#include "core/io/shipped.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

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

std::vector<std::string> shipped_models() {
  std::vector<std::string> out;
  for (const fs::path& dir : model_dirs()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".safetensors") out.push_back(entry.path().string());
    if (!out.empty()) break;  // the first folder that has them
  }
  std::sort(out.begin(), out.end());
  return out;
}

void refuse_shipped_path(const std::string& path) {
  std::error_code ec;
  const fs::path target = fs::weakly_canonical(path, ec).parent_path();
  for (const fs::path& dir : model_dirs())
    if (!ec && fs::exists(dir) && fs::equivalent(target, dir, ec))
      throw std::invalid_argument(path + " is in the shipped models' folder: save under another name");
}

}  // namespace genlab
