// The layers ProGAN and StyleGAN share: equalised learning rate (weights drawn from N(0, 1) and
// scaled by He's constant at every forward pass, so Adam moves every layer at the same relative
// speed whatever its fan-in), pixel-wise feature normalisation, and D's minibatch standard
// deviation. Torch header.
#pragma once

#include <torch/torch.h>

#include <cmath>

namespace genlab {

// He's gain for layers followed by a leaky ReLU; 1 for the linear outputs (to-RGB, D's score).
constexpr float kLeakyGain = 1.41421356f;

// y = x (w * gain * lr_mul / sqrt(in))^T + b * lr_mul. lr_mul < 1 slows a layer down (StyleGAN's
// mapping network learns at 1/100 of the rate).
class EqLinearImpl : public torch::nn::Module {
 public:
  EqLinearImpl(int in, int out, float gain = kLeakyGain, float lr_mul = 1.f, float bias_init = 0.f)
      : scale_(gain * lr_mul / std::sqrt(float(in))), lr_mul_(lr_mul) {
    weight = register_parameter("weight", torch::randn({out, in}) / lr_mul);
    bias = register_parameter("bias", torch::full({out}, bias_init / lr_mul));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::nn::functional::linear(x, weight * scale_, bias * lr_mul_);
  }
  torch::Tensor weight, bias;

 private:
  float scale_, lr_mul_;
};
TORCH_MODULE(EqLinear);

// A k x k convolution (stride 1, same padding) with an equalised learning rate; without a bias
// when the caller adds its own after modulating (StyleGAN).
class EqConv2dImpl : public torch::nn::Module {
 public:
  EqConv2dImpl(int in, int out, int kernel, float gain = kLeakyGain, bool with_bias = true)
      : scale_(gain / std::sqrt(float(in * kernel * kernel))), padding_(kernel / 2) {
    weight = register_parameter("weight", torch::randn({out, in, kernel, kernel}));
    if (with_bias) bias = register_parameter("bias", torch::zeros({out}));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::conv2d(x, weight * scale_, bias, 1, padding_);
  }
  // The weight as the convolution uses it.
  torch::Tensor scaled_weight() const { return weight * scale_; }
  int padding() const { return padding_; }
  torch::Tensor weight, bias;

 private:
  float scale_;
  int padding_;
};
TORCH_MODULE(EqConv2d);

// Each pixel's feature vector scaled to unit mean square (ProGAN's pixelnorm; also z before
// StyleGAN's mapping network).
inline torch::Tensor pixel_norm(const torch::Tensor& x) {
  return x * torch::rsqrt(x.pow(2).mean(1, /*keepdim=*/true) + 1e-8);
}

inline torch::Tensor leaky(const torch::Tensor& x) { return torch::leaky_relu(x, 0.2); }

inline torch::Tensor upsample2(const torch::Tensor& x) {
  return torch::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2});
}

// Minibatch standard deviation: in groups of 4 consecutive samples (the whole batch when it does
// not divide by 4), the standard deviation of every feature over the group, averaged into one
// number appended as a constant channel: D sees how varied G's batch is, so a collapsed G that
// draws one image many times is easy to tell from real data.
inline torch::Tensor minibatch_stddev(const torch::Tensor& x) {
  const int64_t b = x.size(0), group = b % 4 == 0 ? 4 : b;
  auto grouped = x.reshape({b / group, group, x.size(1), x.size(2), x.size(3)});
  auto sd = torch::sqrt(grouped.var(1, /*unbiased=*/false) + 1e-8).mean({1, 2, 3});  // b/group
  auto channel = sd.repeat_interleave(group).view({b, 1, 1, 1}).expand({b, 1, x.size(2), x.size(3)});
  return torch::cat({x, channel}, 1);
}

}  // namespace genlab
