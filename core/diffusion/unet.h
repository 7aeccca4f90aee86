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

  std::string to_json() const;
  static UNetConfig from_json(const std::string& text);  // throws std::invalid_argument
  void validate() const;                                  // throws std::invalid_argument naming the value
};

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(const UNetConfig& config);
  // x: B x C x H x W noisy images; t: B (long) timesteps in [0, 1000); labels: B (long) in
  // [0, classes] where `classes` is the null (unconditional) label, or undefined for an
  // unconditional net. Returns the predicted noise, B x C x H x W.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels = {});
  const UNetConfig& config() const { return config_; }
  int null_label() const { return config_.classes; }

 private:
  struct ResBlock;  // defined in unet.cpp

  UNetConfig config_;
  torch::nn::Linear time_in_{nullptr}, time_out_{nullptr};
  torch::nn::Embedding class_embedding_{nullptr};  // only when classes > 0
  torch::nn::Conv2d in_conv_{nullptr}, down1_{nullptr}, down2_{nullptr}, up2_{nullptr}, up1_{nullptr};
  std::shared_ptr<ResBlock> enc1_, enc2_, middle_, dec2_, dec1_;
  torch::nn::GroupNorm out_norm_{nullptr};
  torch::nn::Conv2d out_conv_{nullptr};
};
TORCH_MODULE(UNet);

// Sinusoidal embedding of timesteps (as in "Attention is all you need" / DDPM): B -> B x dim.
torch::Tensor timestep_embedding(const torch::Tensor& t, int dim);

}  // namespace genlab
