// PNG text chunks: sample grids carry the parameters that made them (sampler, steps, CFG, eta,
// class, seed, checkpoint) as a tEXt chunk, and the lab reads them back. Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/data/image.h"

namespace genlab {

// Writes `image` as a PNG with one tEXt chunk key = text (atomically). Throws DataError naming the path.
void write_png_with_text(const std::string& path, const ImageBuffer& image, const std::string& key,
                         const std::string& text);

// Every tEXt chunk of a PNG file. Throws DataError naming the path for a file that is not a PNG, a
// chunk that runs past the end, or a chunk whose CRC is wrong.
std::map<std::string, std::string> read_png_text(const std::string& path);
// The same for PNG bytes already in memory; `name` stands for the path in errors.
std::map<std::string, std::string> parse_png_text(const std::vector<uint8_t>& bytes, const std::string& name);

}  // namespace genlab
