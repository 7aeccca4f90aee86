#include "core/metrics/image_similarity.h"

namespace genlab {

namespace F = torch::nn::functional;

torch::Tensor upsample(const torch::Tensor& low, int64_t size, bool bicubic) {
  auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size});
  if (bicubic) options.mode(torch::kBicubic).align_corners(false);
  else options.mode(torch::kNearest);
  return F::interpolate(low, options).clamp(0, 1);
}

double mean_l1(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().mean().item<double>(); }

double psnr(const torch::Tensor& a, const torch::Tensor& b) {
  auto mse = (a - b).pow(2).flatten(1).mean(1).to(torch::kDouble);
  return (10 * torch::log10(1.0 / mse.clamp_min(1e-6))).mean().item<double>();  // 1e-6: 60 dB
}

double ssim(const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t c = a.size(1);
  auto g = torch::arange(7, torch::kDouble) - 3;
  g = torch::exp(-g.pow(2) / (2 * 1.5 * 1.5));
  g = g / g.sum();
  auto window = (g.view({7, 1}) * g.view({1, 7})).view({1, 1, 7, 7}).expand({c, 1, 7, 7}).contiguous();
  auto blur = [&](const torch::Tensor& x) { return F::conv2d(x, window, F::Conv2dFuncOptions().groups(c)); };
  auto x = a.to(torch::kDouble), y = b.to(torch::kDouble);
  auto mx = blur(x), my = blur(y);
  auto sxx = blur(x * x) - mx * mx, syy = blur(y * y) - my * my, sxy = blur(x * y) - mx * my;
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  auto map = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2));
  return map.mean().item<double>();
}

double silhouette_iou(const torch::Tensor& a, const torch::Tensor& b, double threshold) {
  auto sa = a.mean(1) > threshold, sb = b.mean(1) > threshold;
  auto inter = (sa & sb).flatten(1).sum(1).to(torch::kDouble), uni = (sa | sb).flatten(1).sum(1).to(torch::kDouble);
  return (inter / uni.clamp_min(1)).mean().item<double>();
}

}  // namespace genlab
