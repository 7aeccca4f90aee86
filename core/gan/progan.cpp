#include "core/gan/progan.h"

namespace genlab {

namespace {

torch::Tensor downsample2(const torch::Tensor& x) { return torch::avg_pool2d(x, 2); }

std::string shape_name(const std::string& what, const torch::Tensor& x) {
  return what + " " + std::to_string(x.size(2)) + "x" + std::to_string(x.size(3));
}

}  // namespace

int progan_channels(const GanConfig& config, int level) { return level < 2 ? config.width : std::max(4, config.width / 2); }

ProGanGenerator::ProGanGenerator(const GanConfig& config) : config_(config) {
  config.validate();
  const int base = config.height / 4, c0 = progan_channels(config, 0);
  input_ = register_module("input", EqLinear(config.latent, c0 * base * base, kLeakyGain / 4));
  conv_a_.resize(3, nullptr);
  conv_b_.resize(3, nullptr);
  to_rgb_.resize(3, nullptr);
  for (int level = 0; level < 3; ++level) {
    const int in = progan_channels(config, std::max(0, level - 1)), out = progan_channels(config, level);
    const std::string l = std::to_string(level);
    if (level > 0) conv_a_[size_t(level)] = register_module("conv_a" + l, EqConv2d(in, out, 3));
    conv_b_[size_t(level)] = register_module("conv_b" + l, EqConv2d(out, out, 3));
    to_rgb_[size_t(level)] = register_module("to_rgb" + l, EqConv2d(out, config.channels, 1, 1.f));
  }
}

torch::Tensor ProGanGenerator::features(const torch::Tensor& z, int level, std::vector<Activation>* record) {
  const int base = config_.height / 4;
  auto x = pixel_norm(leaky(input_(pixel_norm(z))).view({z.size(0), -1, base, base}));
  if (record) record->push_back({shape_name("input", x), x});
  x = pixel_norm(leaky(conv_b_[0](x)));
  if (record) record->push_back({shape_name("conv", x), x});
  for (int l = 1; l <= level; ++l) x = block(l, x, record);
  return x;
}

torch::Tensor ProGanGenerator::block(int level, const torch::Tensor& below, std::vector<Activation>* record) {
  auto x = pixel_norm(leaky(conv_a_[size_t(level)](upsample2(below))));
  if (record) record->push_back({shape_name("up + conv", x), x});
  x = pixel_norm(leaky(conv_b_[size_t(level)](x)));
  if (record) record->push_back({shape_name("conv", x), x});
  return x;
}

ProGanGenerator::Fade ProGanGenerator::fade(const torch::Tensor& z) {
  const int level = growth_.level;
  auto before = features(z, std::max(0, level - 1), nullptr);
  Fade out;
  if (level == 0) {
    out.new_path = out.old_path = out.blended = to_rgb_[0](before);
    return out;
  }
  out.old_path = upsample2(to_rgb_[size_t(level - 1)](before));
  out.new_path = to_rgb_[size_t(level)](block(level, before, nullptr));
  out.blended = torch::lerp(out.old_path, out.new_path, double(growth_.alpha));
  return out;
}

torch::Tensor ProGanGenerator::forward(const torch::Tensor& z, const torch::Tensor&) {
  if (growth_.fading()) return fade(z).blended;
  return to_rgb_[size_t(growth_.level)](features(z, growth_.level, nullptr));
}

std::vector<Activation> ProGanGenerator::activations(const torch::Tensor& z, const torch::Tensor& labels) {
  std::vector<Activation> out;
  features(z, growth_.level, &out);
  auto image = forward(z, labels);
  out.push_back({shape_name(growth_.fading() ? "image (fading in)" : "image", image), image});
  return out;
}

ProGanDiscriminator::ProGanDiscriminator(const GanConfig& config, bool growing) : config_(config) {
  config.validate();
  from_rgb_.resize(3, nullptr);
  conv_a_.resize(3, nullptr);
  conv_b_.resize(3, nullptr);
  for (int level = 0; level < 3; ++level) {
    const int here = progan_channels(config, level), below = progan_channels(config, std::max(0, level - 1));
    const std::string l = std::to_string(level);
    if (growing || level == 2) from_rgb_[size_t(level)] = register_module("from_rgb" + l, EqConv2d(config.channels, here, 1));
    if (level > 0) {
      conv_a_[size_t(level)] = register_module("conv_a" + l, EqConv2d(here, here, 3));
      conv_b_[size_t(level)] = register_module("conv_b" + l, EqConv2d(here, below, 3));
    }
  }
  const int base = config.height / 4, c0 = progan_channels(config, 0);
  final_conv_ = register_module("final_conv", EqConv2d(c0 + 1, c0, 3));
  final_dense_ = register_module("final_dense", EqLinear(c0 * base * base, c0));
  score_ = register_module("score", EqLinear(c0, 1, 1.f));
}

torch::Tensor ProGanDiscriminator::forward(const torch::Tensor& x, const torch::Tensor&) {
  const int level = growth_.level;
  auto block = [&](int l, const torch::Tensor& h) {
    return downsample2(leaky(conv_b_[size_t(l)](leaky(conv_a_[size_t(l)](h)))));
  };
  auto h = leaky(from_rgb_[size_t(level)](x));
  if (level > 0) {
    h = block(level, h);
    if (growth_.fading())
      h = torch::lerp(leaky(from_rgb_[size_t(level - 1)](downsample2(x))), h, double(growth_.alpha));
    for (int l = level - 1; l > 0; --l) h = block(l, h);
  }
  h = leaky(final_conv_(minibatch_stddev(h)));
  return score_(leaky(final_dense_(h.flatten(1)))).squeeze(1);
}

torch::Tensor progan_real(const torch::Tensor& images, Growth growth) {
  auto x = images;
  for (int l = 2; l > growth.level; --l) x = downsample2(x);
  if (growth.fading()) x = torch::lerp(upsample2(downsample2(x)), x, double(growth.alpha));
  return x;
}

}  // namespace genlab
