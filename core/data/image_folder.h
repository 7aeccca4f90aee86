// Internal to core/data: the image-folder reader behind load_dataset("folder:PATH").
#pragma once

#include <cstdint>
#include <string>

#include "core/data/dataset.h"

namespace genlab {

// Fills source, channels, height, width, class_names, train, test and skipped_files as described
// for "folder:PATH" in dataset.h; the caller sets spec and title.
Dataset read_image_folder(const std::string& folder, const LoadOptions& options,
                          const LoadProgress& progress);

// Decodes one image file into out (channels x size x size bytes); false when stb cannot read it.
bool decode_image_file(const std::string& path, int size, int channels, uint8_t* out);

}  // namespace genlab
