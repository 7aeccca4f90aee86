// The pretrained models shipped under assets/models, found beside the binary or in the source tree.
// Torch-free.
#pragma once

#include <string>

namespace genlab {

// The path of assets/models/`name`, or empty when it is not there.
std::string find_shipped_model(const std::string& name);

}  // namespace genlab
