#include "core/labs/tensors.h"

#include <algorithm>
#include <cmath>

namespace genlab {

ImageGrid tensor_grid(const torch::Tensor& images, int cols, int pad, float pad_value) {
  auto x = images.contiguous().to(torch::kFloat);
  return make_image_grid(x.data_ptr<float>(), int(x.size(0)), int(x.size(1)), int(x.size(2)), int(x.size(3)), cols, pad,
                         pad_value);
}

ImageBuffer tensor_image(const torch::Tensor& image) {
  auto x = image.contiguous().to(torch::kFloat);
  ImageBuffer out{int(x.size(0)), int(x.size(1)), int(x.size(2)), {}};
  out.pixels.assign(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
  return out;
}

std::vector<float> to_vector(const torch::Tensor& t) {
  auto x = t.contiguous().to(torch::kFloat);
  return std::vector<float>(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
}

torch::Tensor from_vector(const std::vector<float>& v) {
  return torch::from_blob(const_cast<float*>(v.data()), {1, int64_t(v.size())}, torch::kFloat).clone();
}

torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t) {
  double cos = (a * b).sum().item<double>() / std::max(1e-12, (a.norm() * b.norm()).item<double>());
  double theta = std::acos(std::clamp(cos, -1.0, 1.0));
  if (std::sin(theta) < 1e-4) return a * (1 - t) + b * t;
  return a * (std::sin((1 - t) * theta) / std::sin(theta)) + b * (std::sin(t * theta) / std::sin(theta));
}

torch::Tensor cycling_labels(int64_t first, int64_t count, int classes) {
  return torch::arange(first, first + count, torch::kLong).remainder(classes);
}

torch::Tensor seeded_noise(uint64_t seed, int64_t n, int latent) {
  auto gen = at::detail::createCPUGenerator(seed);
  return at::randn({n, latent}, gen);
}

}  // namespace genlab
