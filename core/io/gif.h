// Animated GIFs of diffusion runs (giflib): a frame per sampling step, looping. Torch-free.
#pragma once

#include <string>
#include <vector>

#include "core/data/image.h"

namespace genlab {

// Writes `frames` (values in [0, 1], all the same size, 1 or 3 channels) as a looping animated GIF,
// `delay_cs` hundredths of a second per frame and the last held for `hold_last_cs`; atomically.
// Gray frames use 256 gray levels, colour frames a fixed 6x7x6 colour cube. Throws DataError naming
// the path when the frames are empty or of different sizes, or the file cannot be written.
void write_gif(const std::string& path, const std::vector<ImageBuffer>& frames, int delay_cs = 8,
               int hold_last_cs = 100);

}  // namespace genlab
