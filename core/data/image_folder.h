// Internal to core/data: the image-folder reader behind load_dataset("folder:PATH").
#pragma once

#include <string>

#include "core/data/dataset.h"

namespace genlab {

// Fills source, channels, height, width, class_names, train, test and skipped_files as described
// for "folder:PATH" in dataset.h; the caller sets spec and title.
Dataset read_image_folder(const std::string& folder, const LoadOptions& options,
                          const LoadProgress& progress);

}  // namespace genlab
