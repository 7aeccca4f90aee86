// The pretrained models shipped under assets/models, found beside the binary or in the source tree.
// Torch-free.
#pragma once

#include <string>

namespace genlab {

// The folder of the running binary; and PREFIX/share/genlab when it runs from PREFIX/bin, where
// `cmake --install build --prefix PREFIX` puts the shaders, the shipped models and the font.
std::string binary_dir();
std::string installed_data_dir();

// The path of assets/models/`name` (beside the binary, installed, or in the source tree), or empty
// when it is not there.
std::string find_shipped_model(const std::string& name);


// Throws std::invalid_argument when `path` would overwrite a shipped model: the labs save elsewhere.
void refuse_shipped_path(const std::string& path);

}  // namespace genlab
