// NumPy .npy files (version 1.0, little-endian float32, C order): what `genlab-cli sample` writes
// for samples.npy. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace genlab {

// Writes atomically; throws CheckpointError naming the path when it cannot.
void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& values);

}  // namespace genlab
