// The denoiser of latent diffusion: an eps-predicting U-Net on the autoencoder's 4 x 7 x 7 latent
// (7 -> 4 -> 7) whose only conditioning is cross-attention to the prompt's token vectors at every
// level, as in Stable Diffusion: queries from the image positions, keys and values from the tokens,
// padding masked. Each cross-attention can hand back its attention weights: which word each
// position read, the maps the Diffusion tab shows per token. Torch header.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/diffusion/unet.h"

namespace genlab {

struct LatentUNetConfig {
  int latent_channels = 4, latent_size = 7;  // from the autoencoder
  int base = 32, mid = 64;                   // channels at the latent's size and at half of it (the pixel U-Net's widths)
  int context_width = 64;                    // the text encoder's width
  int heads = 4;
  int time_dim = 128;

  std::string to_json() const;
  static LatentUNetConfig from_json(const std::string& text);  // throws std::invalid_argument
  void validate() const;
};

class CrossAttentionImpl : public torch::nn::Module {
 public:
  CrossAttentionImpl(int channels, int context_width, int heads);
  // x: B x C x H x W; context: B x L x D; keep: B x L bool (false: padding). With `weights`, the
  // attention weights averaged over heads go there as B x (H*W) x L (each row sums to 1).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context, const torch::Tensor& keep,
                        torch::Tensor* weights = nullptr);

 private:
  int heads_;
  torch::nn::GroupNorm norm_{nullptr};
  torch::nn::Linear query_{nullptr}, key_{nullptr}, value_{nullptr}, out_{nullptr};
};
TORCH_MODULE(CrossAttention);

class LatentUNetImpl : public torch::nn::Module {
 public:
  explicit LatentUNetImpl(const LatentUNetConfig& config);
  // z: B x c x s x s; t: B (long, 0-based like the pixel U-Net); context B x L x D, keep B x L. With
  // `attention`, every cross-attention's weights resized to s x s and averaged: B x L x s x s.
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& t, const torch::Tensor& context,
                        const torch::Tensor& keep, torch::Tensor* attention = nullptr);
  const LatentUNetConfig& config() const { return config_; }

 private:
  LatentUNetConfig config_;
  torch::nn::Linear time_in_{nullptr}, time_out_{nullptr};
  torch::nn::Conv2d in_conv_{nullptr}, down_{nullptr}, up_{nullptr};
  TimeResBlock enc1_{nullptr}, enc2_{nullptr}, middle_{nullptr}, dec2_{nullptr}, dec1_{nullptr};
  CrossAttention enc1_attn_{nullptr}, enc2_attn_{nullptr}, middle_attn_{nullptr}, dec2_attn_{nullptr}, dec1_attn_{nullptr};
  torch::nn::GroupNorm out_norm_{nullptr};
  torch::nn::Conv2d out_conv_{nullptr};
};
TORCH_MODULE(LatentUNet);

}  // namespace genlab
