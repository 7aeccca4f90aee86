// The epsilon-predicting U-Net of the diffusion lab: sinusoidal time embedding, class embedding with
// a null class for classifier-free guidance, residual blocks with GroupNorm, skip connections, and
// nearest upsample + conv (ConvTranspose2d is slow in Debian's LibTorch). Torch header.
#pragma once

#include <torch/torch.h>

#include <string>

namespace genlab {

struct UNetConfig {
  int channels = 1;           // image channels
  int image_size = 28;        // square images; must be divisible by 4
  int base = 32;              // channels at full resolution
  int mid = 64;               // channels at 1/2 and 1/4 resolution
  int classes = 10;           // 0: unconditional; the null class is index `classes`
  int time_dim = 128;         // width of the time/class embedding
  // A distilled student's: the guidance scale w is an input (its sinusoidal embedding of 100 w added
  // to the time's), so one call gives the guided prediction that costs the teacher two.
  bool guidance_input = false;

  std::string to_json() const;
  static UNetConfig from_json(const std::string& text);  // throws std::invalid_argument
  void validate() const;                                  // throws std::invalid_argument naming the value
};

// The U-Nets' residual block: GroupNorm, SiLU, 3x3 conv, plus the embedding (time, class) as a
// per-channel shift, twice, with a 1x1 skip when the width changes. Shared with the latent U-Net.
class TimeResBlockImpl : public torch::nn::Module {
 public:
  TimeResBlockImpl(int in, int out, int embedding_dim);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& embedding);
  // Multiply-adds x 2 of its convs and embedding layer for one image of `pixels` positions.
  double flops(double pixels) const;

 private:
  torch::nn::GroupNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, skip_{nullptr};
  torch::nn::Linear embed_{nullptr};
};
TORCH_MODULE(TimeResBlock);

// GroupNorm with the largest group count up to 8 that divides `channels`.
torch::nn::GroupNorm group_norm(int channels);
torch::nn::Conv2d conv3x3(int in, int out, int stride = 1);

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(const UNetConfig& config);
  // x: B x C x H x W noisy images; t: B (long) timesteps in [0, 1000); labels: B (long) in
  // [0, classes] where `classes` is the null (unconditional) label, or undefined for an
  // unconditional net; w: B guidance scales (float), for a net with guidance_input only. Returns the
  // predicted noise, B x C x H x W.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels = {},
                        const torch::Tensor& w = {});
  const UNetConfig& config() const { return config_; }
  int null_label() const { return config_.classes; }
  // FLOPs (2 x multiply-adds) of one image's forward pass, counted from the conv and linear layers
  // at the resolution each runs at; norms, activations and additions (a few % more) left out.
  double forward_flops() const;

 private:
  UNetConfig config_;
  torch::nn::Linear time_in_{nullptr}, time_out_{nullptr};
  torch::nn::Embedding class_embedding_{nullptr};  // only when classes > 0
  torch::nn::Linear guidance_in_{nullptr};         // only with guidance_input
  torch::nn::Conv2d in_conv_{nullptr}, down1_{nullptr}, down2_{nullptr}, up2_{nullptr}, up1_{nullptr};
  TimeResBlock enc1_{nullptr}, enc2_{nullptr}, middle_{nullptr}, dec2_{nullptr}, dec1_{nullptr};
  torch::nn::GroupNorm out_norm_{nullptr};
  torch::nn::Conv2d out_conv_{nullptr};
};
TORCH_MODULE(UNet);

// Sinusoidal embedding of timesteps (as in "Attention is all you need" / DDPM): B -> B x dim.
torch::Tensor timestep_embedding(const torch::Tensor& t, int dim);

}  // namespace genlab
