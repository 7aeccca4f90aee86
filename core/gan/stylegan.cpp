#include "core/gan/stylegan.h"

#include <stdexcept>

namespace genlab {

namespace {

constexpr double kWAvgBeta = 0.995;  // w̄'s exponential moving average, as StyleGAN's
constexpr float kMappingLrMul = 0.01f;  // the mapping network learns 100x slower (StyleGAN)

}  // namespace

StyleConvImpl::StyleConvImpl(int w_dim, int in, int out, bool upsample) : upsample_(upsample) {
  affine_ = register_module("affine", EqLinear(w_dim, in, 1.f, 1.f, /*bias_init=*/1.f));  // styles start at 1
  conv_ = register_module("conv", EqConv2d(in, out, 3, 1.f, /*with_bias=*/false));  // the bias comes after the noise
  noise_strength = register_parameter("noise_strength", torch::zeros({1}));
  bias_ = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor StyleConvImpl::forward(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& noise) {
  auto style = affine_(w);  // B x in
  auto weight = conv_->scaled_weight();  // out x in x 3 x 3
  // Demodulation: each output channel of the per-sample weights w'_oi = w_oi s_i scaled back to unit
  // norm, 1 / sqrt(sum_i,k (w_oi s_i)^2), computed without forming w'.
  auto demod = torch::rsqrt(torch::mm(style.pow(2), weight.pow(2).sum({2, 3}).t()) + 1e-8);  // B x out
  auto h = x * style.unsqueeze(2).unsqueeze(3);
  if (upsample_) h = upsample2(h);
  h = torch::conv2d(h, weight, {}, 1, 1) * demod.unsqueeze(2).unsqueeze(3);
  h = h + noise * noise_strength;
  return leaky(h + bias_.view({1, -1, 1, 1})) * kLeakyGain;
}

ToRgbImpl::ToRgbImpl(int w_dim, int in, int channels) {
  affine_ = register_module("affine", EqLinear(w_dim, in, 1.f, 1.f, 1.f));
  conv_ = register_module("conv", EqConv2d(in, channels, 1, 1.f));
}

torch::Tensor ToRgbImpl::forward(const torch::Tensor& x, const torch::Tensor& w) {
  return conv_(x * affine_(w).unsqueeze(2).unsqueeze(3));
}

StyleGenerator::StyleGenerator(const GanConfig& config) : config_(config) {
  config.validate();
  for (int i = 0; i < config.mapping_depth; ++i)
    mapping_.push_back(register_module("mapping" + std::to_string(i),
                                       EqLinear(i == 0 ? config.latent : config.w_dim, config.w_dim, kLeakyGain, kMappingLrMul)));
  const int base = config.height / 4;
  auto channels = [&](int level) { return level < 2 ? config.width : std::max(4, config.width / 2); };
  const_input_ = register_parameter("const_input", torch::randn({1, channels(0), base, base}));
  w_avg_ = register_buffer("w_avg", torch::zeros({config.w_dim}));
  for (int layer = 0; layer < kLayers; ++layer) {
    const int level = layer / 2, out = channels(level), in = layer == 0 ? out : channels((layer - 1) / 2);
    const bool up = layer % 2 == 0 && layer > 0;
    convs_.push_back(register_module("conv" + std::to_string(layer), StyleConv(config.w_dim, in, out, up)));
    const int size = layer_size(layer);
    noise_const_.push_back(register_buffer("noise_const" + std::to_string(layer), torch::randn({1, 1, size, size})));
    if (layer % 2 == 1)
      to_rgb_.push_back(register_module("to_rgb" + std::to_string(level), ToRgb(config.w_dim, out, config.channels)));
  }
}

torch::Tensor StyleGenerator::map(const torch::Tensor& z) {
  auto w = pixel_norm(z);
  for (auto& layer : mapping_) w = leaky(layer(w));
  return w;
}

torch::Tensor StyleGenerator::truncate(const torch::Tensor& w, double psi) const {
  auto avg = w_avg_.to(w.device());
  return avg + psi * (w - avg);
}

torch::Tensor StyleGenerator::styles(const torch::Tensor& z, double psi, const torch::Tensor& z_mix,
                                    const std::vector<int>& mixed) {
  const auto device = w_avg_.device();
  auto ws = truncate(map(z.to(device)), psi).unsqueeze(1).repeat({1, kLayers, 1});
  if (!mixed.empty()) {
    auto other = truncate(map(z_mix.to(device)), psi);
    for (int layer : mixed) ws.select(1, layer).copy_(other);
  }
  return ws;
}

torch::Tensor StyleGenerator::synthesize(const torch::Tensor& ws, const std::vector<torch::Tensor>& noise,
                                         std::vector<Activation>* record) {
  const int64_t b = ws.size(0);
  auto x = const_input_.expand({b, -1, -1, -1});
  torch::Tensor image;
  for (int layer = 0; layer < kLayers; ++layer) {
    torch::Tensor n = size_t(layer) < noise.size() ? noise[size_t(layer)] : torch::Tensor();
    if (!n.defined()) {
      const int size = layer_size(layer);
      n = is_training() ? torch::randn({b, 1, size, size}).to(ws.device()) : noise_const_[size_t(layer)];
    }
    x = convs_[size_t(layer)](x, ws.select(1, layer), n);
    const std::string size = std::to_string(x.size(2));
    if (record) record->push_back({"style layer " + std::to_string(layer) + " " + size + "x" + size, x});
    if (layer % 2 == 1) {
      auto rgb = to_rgb_[size_t(layer / 2)](x, ws.select(1, layer));
      image = image.defined() ? upsample2(image) + rgb : rgb;
      if (record) record->push_back({"image so far " + size + "x" + size, image});
    }
  }
  return image;
}

torch::Tensor StyleGenerator::forward(const torch::Tensor& z, const torch::Tensor&) {
  auto w = map(z);
  auto ws = w.unsqueeze(1).expand({-1, kLayers, -1});
  if (is_training()) {
    {
      torch::NoGradGuard no_grad;
      w_avg_.copy_(torch::lerp(w.detach().mean(0), w_avg_, kWAvgBeta));
    }
    // Style mixing: from a random layer on, another z's w, so no layer can lean on its neighbours'
    // styles being the same.
    if (config_.mixing_prob > 0 && torch::rand({1}).item<float>() < config_.mixing_prob) {
      const int cutoff = int(torch::randint(1, kLayers, {1}).item<int64_t>());
      auto w2 = map(torch::randn(z.sizes()).to(z.device()));
      ws = torch::cat({ws.narrow(1, 0, cutoff), w2.unsqueeze(1).expand({-1, kLayers - cutoff, -1})}, 1);
    }
  }
  return synthesize(ws);
}

std::vector<Activation> StyleGenerator::activations(const torch::Tensor& z, const torch::Tensor&) {
  std::vector<Activation> out;
  synthesize(map(z).unsqueeze(1).expand({-1, kLayers, -1}), {}, &out);
  return out;
}

std::vector<int> style_layers(const std::string& name) {
  if (name == "coarse") return {0, 1};
  if (name == "middle") return {2, 3};
  if (name == "fine") return {4, 5};
  throw std::invalid_argument("mixing layers '" + name + "' are not coarse, middle or fine");
}

}  // namespace genlab
