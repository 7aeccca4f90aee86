// A small StyleGAN: a mapping network z -> w, a learned constant input, and six style layers (two
// per resolution: H/4 coarse, H/2 middle, H fine), each taking its own w, with per-layer noise
// inputs, skip to-RGB outputs summed across resolutions, style-mixing regularisation and the
// running mean w̄ behind the truncation trick.
//
// Styles enter by weight modulation and demodulation (StyleGAN2), not AdaIN: AdaIN normalises each
// feature map by its own mean and variance, which throws away relative magnitudes and made
// StyleGAN's characteristic droplet artefacts; demodulation scales the weights by the statistics the
// style implies instead. It is computed here as scale input, shared convolution, scale output, so
// a batch needs no per-sample (grouped) convolution. Torch header.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "core/gan/equalized.h"
#include "core/gan/gan.h"

namespace genlab {

// One modulated 3x3 convolution (optionally upsampling first) with its affine map w -> style,
// noise input (one learned strength per layer) and bias.
class StyleConvImpl : public torch::nn::Module {
 public:
  StyleConvImpl(int w_dim, int in, int out, bool upsample);
  // noise: B or 1 x 1 x H x W at the output size.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& noise);
  torch::Tensor noise_strength;

 private:
  bool upsample_;
  EqLinear affine_{nullptr};
  EqConv2d conv_{nullptr};
  torch::Tensor bias_;
};
TORCH_MODULE(StyleConv);

// A modulated 1x1 convolution to the image channels (no demodulation: its output is the image).
class ToRgbImpl : public torch::nn::Module {
 public:
  ToRgbImpl(int w_dim, int in, int channels);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w);

 private:
  EqLinear affine_{nullptr};
  EqConv2d conv_{nullptr};
};
TORCH_MODULE(ToRgb);

class StyleGenerator : public GeneratorNet {
 public:
  static constexpr int kLayers = 6;  // w inputs: 0-1 coarse (H/4), 2-3 middle (H/2), 4-5 fine (H)
  explicit StyleGenerator(const GanConfig& config);

  torch::Tensor map(const torch::Tensor& z);  // B x latent -> B x w_dim
  // w̄ + psi (w - w̄): psi 1 leaves w, 0 gives w̄'s image, -1 its "opposite".
  torch::Tensor truncate(const torch::Tensor& w, double psi) const;
  torch::Tensor w_avg() const { return w_avg_; }
  // B x kLayers x w_dim: z's w truncated by psi in every layer, except the layers in `mixed`,
  // which take z_mix's (truncated by psi too).
  torch::Tensor styles(const torch::Tensor& z, double psi, const torch::Tensor& z_mix = {},
                       const std::vector<int>& mixed = {});
  // ws: B x kLayers x w_dim, one w per layer. noise: one per layer, B or 1 x 1 x h x w; an
  // undefined one is drawn fresh in training and is the layer's fixed noise otherwise.
  torch::Tensor synthesize(const torch::Tensor& ws, const std::vector<torch::Tensor>& noise = {},
                           std::vector<Activation>* record = nullptr);

  // Training: w for z, mixed with a second z's from a random layer on (with mixing_prob), and w̄
  // moved towards the batch's mean w. Otherwise w for every layer, the fixed noise.
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels) override;
  std::vector<Activation> activations(const torch::Tensor& z, const torch::Tensor& labels) override;

  int layer_size(int layer) const { return config_.height >> (2 - layer / 2); }  // its output is size x size
  torch::Tensor fixed_noise(int layer) const { return noise_const_[size_t(layer)]; }
  float noise_strength(int layer) const { return convs_[size_t(layer)]->noise_strength.item<float>(); }

 private:
  GanConfig config_;
  std::vector<EqLinear> mapping_;
  torch::Tensor const_input_, w_avg_;
  std::vector<StyleConv> convs_;
  std::vector<ToRgb> to_rgb_;  // one per resolution, taking that resolution's second w
  std::vector<torch::Tensor> noise_const_;
};

// The w-indices of the layers named coarse (H/4), middle (H/2) or fine (H); throws
// std::invalid_argument naming `name` otherwise.
std::vector<int> style_layers(const std::string& name);

}  // namespace genlab
