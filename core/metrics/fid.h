// Distances between sets of feature vectors: the Fréchet distance of their Gaussian fits (FID's
// formula; genlab applies it to LeNet features, "FID-LeNet") and k-NN precision/recall
// (Kynkäänniemi et al. 2019). Torch header.
#pragma once

#include <torch/torch.h>

namespace genlab {

struct FeatureStats {
  torch::Tensor mean;  // d, float64
  torch::Tensor cov;   // d x d, float64, unbiased (n - 1)
  int64_t count = 0;
};

// Mean and covariance of N x d features, accumulated in float64. Needs N >= 2.
FeatureStats feature_stats(const torch::Tensor& features);

// ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2). The matrix square roots come from
// symmetric eigen-decompositions (tiny negative eigenvalues from round-off are clipped to 0), so
// the result is real and symmetric in its arguments.
double frechet_distance(const FeatureStats& a, const FeatureStats& b);

struct PrecisionRecall {
  double precision = 0;  // share of generated samples inside the real set's k-NN balls
  double recall = 0;     // share of real samples inside the generated set's k-NN balls
};
// Each set's manifold is the union of balls around its points, of radius the distance to the k-th
// nearest other point of the same set.
PrecisionRecall precision_recall(const torch::Tensor& real, const torch::Tensor& generated, int k = 3);

}  // namespace genlab
