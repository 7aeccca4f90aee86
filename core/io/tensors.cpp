#include "core/io/tensors.h"

#include "core/io/npy.h"
#include "core/io/png_text.h"

#include <algorithm>
#include <filesystem>
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

torch::Tensor image_tensor(const ImageBuffer& image) {
  return torch::from_blob(const_cast<float*>(image.pixels.data()), {1, image.channels, image.height, image.width}, torch::kFloat)
      .clone();
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

void check_samples_path(const std::string& out) {
  const std::string ext = std::filesystem::path(out).extension().string();
  if (ext != ".png" && ext != ".npy")
    throw std::invalid_argument("--out " + out + ": write a .png grid or a .npy array");
}

int sample_columns(int n, int classes, int label) {
  return classes > 0 && label < 0 ? classes : int(std::ceil(std::sqrt(n)));
}

void write_samples(const std::string& out, const torch::Tensor& images, int cols, const std::string& record_json) {
  check_samples_path(out);
  auto x = images.to(torch::kFloat).contiguous();
  const int n = int(x.size(0)), c = int(x.size(1)), h = int(x.size(2)), w = int(x.size(3));
  std::vector<float> values(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
  if (std::filesystem::path(out).extension() == ".npy") {
    write_npy_f32(out, {n, c, h, w}, values);
  } else {
    // The grid carries the parameters that made it, so it can be read back and re-made.
    write_png_with_text(out, make_image_grid(values.data(), n, c, h, w, cols).image, "genlab", record_json);
  }
}

}  // namespace genlab
