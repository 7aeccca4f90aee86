#include "core/io/shipped.h"

#include <filesystem>

namespace genlab {

std::string find_shipped_model(const std::string& name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (const fs::path& dir : {exe_dir / "assets" / "models", fs::path(GENLAB_SOURCE_ASSETS) / "models"})
    if (fs::exists(dir / name)) return (dir / name).string();
  return "";
}

}  // namespace genlab
