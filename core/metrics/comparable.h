// A checkpoint opened for the Compare table: the points of its trade-off curves and a sample source
// at each. Every family that draws images from noise opens its checkpoints this way (the family
// table's open_comparable). Torch header.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/metrics/compare_point.h"
#include "core/metrics/model_samples.h"

namespace genlab {

struct ComparableModel {
  std::string kind;  // the checkpoint's ("vae", "stylegan", "ddpm", ...)
  int64_t step = 0;
  int classes = 0;   // a conditional model's: its samples cycle through them, one of each in turn
  // Checkpoints it samples through besides its own: a prior's VQ-VAE, a latent model's autoencoder.
  std::vector<std::string> stages;
  std::vector<ComparePoint> points;
  // The source of samples at a point; it keeps the loaded model alive.
  std::function<SampleSource(const ComparePoint&)> source;
  // Non-empty for a checkpoint that draws nothing from noise by itself (a VQ-VAE without its prior,
  // a latent model's autoencoder): why, and `points` is empty.
  std::string not_a_sampler;
};

}  // namespace genlab
