// Samples of a model for the quality metrics, in batches: images in [0, 1] and the
// classes they were asked for (undefined for an unconditional model). The same seed gives the same samples. Torch header.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>

namespace genlab {

struct Samples {
  torch::Tensor images;  // N x C x H x W in [0, 1]
  torch::Tensor labels;  // N classes asked for, or undefined
};
// Called after each batch with (done, total); return false to stop (a cancelled job).
using SampleProgress = std::function<bool(int64_t, int64_t)>;
using SampleSource = std::function<Samples(int n, uint64_t seed, const SampleProgress& progress)>;

// Runs `draw` over batches of at most `batch`, concatenating; the noise of each batch comes from
// seeded_noise(seed + batch index) so results do not depend on thread count or batch timing.
// Throws "cancelled" when `progress` returns false.
Samples batched(int n, int batch, const SampleProgress& progress,
                const std::function<Samples(int first, int count)>& draw);

}  // namespace genlab
