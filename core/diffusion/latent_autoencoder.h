// The first stage of latent diffusion: a KL-regularised convolutional autoencoder (Rombach et al.'s
// "KL-f4" at this scale) from C x 28 x 28 to a 4 x 7 x 7 latent, trained on reconstruction + a small
// beta * KL so the latent stays near N(0, I) without blurring the decoder. The diffusion model then
// runs on its latents, scaled to unit variance. Torch header.
#pragma once

#include <torch/torch.h>

#include <string>

namespace genlab {

struct LatentAeConfig {
  int channels = 1, image_size = 28;  // filled from the data set; the size must divide by 4
  int latent_channels = 4;
  int width = 64;
  float beta = 0.01f;  // weight of the KL term (summed over the latent) against the summed BCE

  int latent_size() const { return image_size / 4; }
  std::string to_json() const;
  static LatentAeConfig from_json(const std::string& text);  // throws std::invalid_argument
  void validate() const;
};

class LatentAutoencoderImpl : public torch::nn::Module {
 public:
  explicit LatentAutoencoderImpl(const LatentAeConfig& config);
  struct Posterior {
    torch::Tensor mean, logvar;  // B x latent_channels x s x s
  };
  Posterior encode(const torch::Tensor& x);      // x in [0, 1]
  torch::Tensor decode_logits(const torch::Tensor& z);
  torch::Tensor decode(const torch::Tensor& z);  // in [0, 1]
  const LatentAeConfig& config() const { return config_; }

 private:
  LatentAeConfig config_;
  torch::nn::Sequential encoder_{nullptr}, decoder_{nullptr};
};
TORCH_MODULE(LatentAutoencoder);

}  // namespace genlab
