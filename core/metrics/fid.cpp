#include "core/metrics/fid.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace genlab {

FeatureStats feature_stats(const torch::Tensor& features) {
  if (features.dim() != 2 || features.size(0) < 2)
    throw std::invalid_argument("feature statistics need at least 2 feature vectors");
  auto x = features.to(torch::kDouble);
  FeatureStats s;
  s.count = x.size(0);
  s.mean = x.mean(0);
  auto centred = x - s.mean;
  s.cov = centred.t().matmul(centred) / double(s.count - 1);
  return s;
}

namespace {

// The square root of a symmetric positive semi-definite matrix.
torch::Tensor sqrt_psd(const torch::Tensor& m) {
  auto [values, vectors] = torch::linalg_eigh((m + m.t()) * 0.5);
  return vectors.matmul(torch::diag(values.clamp_min(0).sqrt())).matmul(vectors.t());
}

}  // namespace

double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  if (a.mean.numel() != b.mean.numel()) throw std::invalid_argument("feature sizes differ");
  const double mean_term = (a.mean - b.mean).pow(2).sum().item<double>();
  // Tr((S1^1/2 S2 S1^1/2)^1/2): the eigenvalues of a symmetric PSD matrix, square-rooted and summed.
  auto root_a = sqrt_psd(a.cov);
  auto inner = root_a.matmul(b.cov).matmul(root_a);
  auto eigenvalues = torch::linalg_eigvalsh((inner + inner.t()) * 0.5);
  const double cross = eigenvalues.clamp_min(0).sqrt().sum().item<double>();
  return mean_term + a.cov.trace().item<double>() + b.cov.trace().item<double>() - 2 * cross;
}

namespace {

constexpr int64_t kChunk = 1024;  // rows of a distance matrix at a time: 10 000 x 10 000 floats would be 400 MB

// Distance from each point to its k-th nearest other point of the same set.
torch::Tensor kth_neighbour_radius(const torch::Tensor& x, int k) {
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < x.size(0); i += kChunk) {
    auto d = torch::cdist(x.slice(0, i, std::min(i + kChunk, x.size(0))), x);
    // Ascending, column 0 is the point itself (distance 0).
    parts.push_back(std::get<0>(d.topk(k + 1, 1, /*largest=*/false, /*sorted=*/true)).select(1, k));
  }
  return torch::cat(parts);
}

// Share of `queries` within radius[j] of some point j of `set`.
double coverage(const torch::Tensor& set, const torch::Tensor& radius, const torch::Tensor& queries) {
  int64_t inside = 0;
  for (int64_t i = 0; i < queries.size(0); i += kChunk) {
    auto d = torch::cdist(queries.slice(0, i, std::min(i + kChunk, queries.size(0))), set);
    inside += (d <= radius.unsqueeze(0)).any(1).sum().item<int64_t>();
  }
  return double(inside) / double(queries.size(0));
}

}  // namespace

PrecisionRecall precision_recall(const torch::Tensor& real, const torch::Tensor& generated, int k) {
  if (real.size(0) <= k || generated.size(0) <= k)
    throw std::invalid_argument("precision/recall needs more than k = " + std::to_string(k) + " points in each set");
  torch::NoGradGuard no_grad;
  auto r = real.to(torch::kFloat), g = generated.to(torch::kFloat);
  PrecisionRecall out;
  out.precision = coverage(r, kth_neighbour_radius(r, k), g);
  out.recall = coverage(g, kth_neighbour_radius(g, k), r);
  return out;
}

}  // namespace genlab
