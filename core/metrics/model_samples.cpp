#include "core/metrics/model_samples.h"


namespace genlab {

// Runs `draw` over batches of at most `batch`, concatenating; the noise of each batch comes from
// seeded_noise(seed + batch index) so results do not depend on thread count or batch timing.
Samples batched(int n, int batch, const SampleProgress& progress,
                const std::function<Samples(int first, int count)>& draw) {
  std::vector<torch::Tensor> images, labels;
  for (int first = 0; first < n; first += batch) {
    Samples s = draw(first, std::min(batch, n - first));
    images.push_back(s.images);
    if (s.labels.defined()) labels.push_back(s.labels);
    if (progress && !progress(first + s.images.size(0), n)) throw std::runtime_error("cancelled");
  }
  return {torch::cat(images), labels.empty() ? torch::Tensor() : torch::cat(labels)};
}

}  // namespace genlab
