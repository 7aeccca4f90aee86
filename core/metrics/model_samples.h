// Samples of each kind of model for the quality metrics, in batches: images in [0, 1] and the
// classes they were asked for (one of each class in turn for a conditional model; undefined
// otherwise). The same seed gives the same samples. Torch header.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>

namespace genlab {

class GanTrainer;
class DiffusionTrainer;
class VaeTrainer;

struct Samples {
  torch::Tensor images;  // N x C x H x W in [0, 1]
  torch::Tensor labels;  // N classes asked for, or undefined
};
// Called after each batch with (done, total); return false to stop (a cancelled job).
using SampleProgress = std::function<bool(int64_t, int64_t)>;
using SampleSource = std::function<Samples(int n, uint64_t seed, const SampleProgress& progress)>;

SampleSource gan_samples(GanTrainer& trainer);
// A class-conditional model samples one of each class in turn at guidance `cfg`.
SampleSource diffusion_samples(DiffusionTrainer& trainer, const std::string& sampler, int steps, double cfg,
                               double eta = 0);
SampleSource vae_prior_samples(VaeTrainer& trainer);  // decoded z ~ N(0, I)

}  // namespace genlab
