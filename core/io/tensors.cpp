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

torch::Tensor slerp_rows(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& t) {
  auto cos = ((a * b).sum(1) / (a.norm(2, 1) * b.norm(2, 1)).clamp_min(1e-12)).clamp(-1, 1);
  auto theta = torch::acos(cos), sin = torch::sin(theta);
  auto tt = t.to(a.dtype());
  auto straight = sin < 1e-4;  // parallel codes: the straight line
  auto safe = torch::where(straight, torch::ones_like(sin), sin);
  auto wa = torch::where(straight, 1 - tt, torch::sin((1 - tt) * theta) / safe);
  auto wb = torch::where(straight, tt, torch::sin(tt * theta) / safe);
  return a * wa.unsqueeze(1) + b * wb.unsqueeze(1);
}

std::vector<Activation> sequential_activations(torch::nn::Sequential& net, torch::Tensor x) {
  namespace nn = torch::nn;
  std::vector<Activation> out;
  int index = 0;
  auto shape_of = [](const torch::Tensor& t) {
    return std::to_string(t.size(1)) + " x " + std::to_string(t.size(2)) + "x" + std::to_string(t.size(3));
  };
  for (auto& layer : *net) {
    x = layer.forward(x);
    auto* m = layer.ptr().get();
    if (m->as<nn::UnflattenImpl>() && !out.empty() && out.back().value.numel() == x.numel()) {
      // A dense layer's output reshaped into feature maps: show it as the maps the next conv reads.
      out.back().value = x;
      out.back().name = "layer " + std::to_string(index) + ": " + shape_of(x);
      continue;
    }
    if (m->as<nn::ReLUImpl>() || m->as<nn::LeakyReLUImpl>() || m->as<nn::TanhImpl>() || m->as<nn::SigmoidImpl>() ||
        m->as<nn::SiLUImpl>() || m->as<nn::GELUImpl>()) {
      auto shown = x.dim() == 2 ? x.unsqueeze(2).unsqueeze(3) : x;
      out.push_back({"layer " + std::to_string(++index) + ": " + shape_of(shown), shown});
    }
  }
  return out;
}

LayerView layer_view(const std::vector<Activation>& layers, int layer) {
  if (layers.empty()) throw std::invalid_argument("the model has no layers to show");
  if (layer < -1 || layer >= int(layers.size()))
    throw std::invalid_argument("layer " + std::to_string(layer) + " does not exist: the model has " +
                                std::to_string(layers.size()) + " (0.." + std::to_string(layers.size() - 1) + ")");
  LayerView view;
  for (const Activation& a : layers) view.layers.push_back(a.name);
  view.layer = layer < 0 ? int(layers.size()) - 1 : layer;
  auto x = layers[size_t(view.layer)].value[0].detach().to(torch::kCPU, torch::kFloat);  // C x H x W
  view.channels = int(x.size(0));
  view.height = int(x.size(1));
  view.width = int(x.size(2));
  auto flat = x.flatten(1);
  view.mean = to_vector(flat.mean(1));
  view.std = to_vector(flat.std(1, /*unbiased=*/false));
  // Each channel scaled to its own range: a weak channel's pattern is as visible as a strong one's.
  auto lo = std::get<0>(flat.min(1)).view({-1, 1, 1}), hi = std::get<0>(flat.max(1)).view({-1, 1, 1});
  auto scaled = ((x - lo) / (hi - lo).clamp_min(1e-8)).unsqueeze(1);  // C x 1 x H x W
  const int cols = int(std::ceil(std::sqrt(double(view.channels))));
  view.maps = tensor_grid(scaled, cols);
  for (int64_t c = 0; c < scaled.size(0); ++c) view.channel.push_back(tensor_image(scaled[c]));
  return view;
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

torch::Tensor varied_test_indices(const Dataset& data, int count) {
  std::vector<int64_t> picked;
  const int classes = int(data.class_names.size());
  if (classes > 0) {
    std::vector<int> taken(size_t(classes), 0);
    const int per_class = std::max(1, count / classes);
    for (int64_t i = 0; i < data.test.count && int(picked.size()) < count; ++i) {
      int label = data.test.labels[size_t(i)];
      if (label >= 0 && label < classes && taken[size_t(label)] < per_class) ++taken[size_t(label)], picked.push_back(i);
    }
  }
  for (int64_t i = 0; i < data.test.count && int(picked.size()) < count; ++i)
    if (std::find(picked.begin(), picked.end(), i) == picked.end()) picked.push_back(i);
  std::sort(picked.begin(), picked.end());
  return torch::tensor(picked, torch::kLong);
}

}  // namespace genlab
