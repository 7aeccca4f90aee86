// Autoencoder and VAE sharing one encoder/decoder design, in an MLP and a conv variant, and the
// discriminator VAE-GAN adds to the conv VAE.
// Torch header: include only from torch translation units.
#pragma once

#include <torch/torch.h>

#include "core/io/tensors.h"
#include "core/vae/vae_config.h"

namespace genlab {

struct VaeOutput {
  torch::Tensor logits;  // decoder output before the sigmoid, B x C x H x W
  torch::Tensor mu;      // B x L
  torch::Tensor logvar;  // B x L; zeros for the AE
  torch::Tensor z;       // the code that was decoded
};

struct VaeLoss {
  torch::Tensor recon;        // per-image mean of the summed reconstruction loss
  torch::Tensor kl;           // per-image mean of KL(q(z|x) || N(0, I)); 0 for the AE
  torch::Tensor total;        // recon + beta * kl
  torch::Tensor kl_per_dim;   // L, batch mean
};

class VaeImpl : public torch::nn::Module {
 public:
  explicit VaeImpl(const VaeConfig& config);

  // Encoder: (mu, logvar); the AE's logvar is zeros and its code is mu.
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& x);
  torch::Tensor decode_logits(const torch::Tensor& z);
  torch::Tensor decode(const torch::Tensor& z) { return torch::sigmoid(decode_logits(z)); }
  // The decoder's layers for z (the layer view), the image last.
  std::vector<Activation> decoder_activations(const torch::Tensor& z);
  // Reparameterised forward: z = mu + sigma * eps for the VAE when sampling, else z = mu.
  VaeOutput forward(const torch::Tensor& x, bool sample = true);
  // The same with the noise given, B x L (training draws it for the whole batch: Trainer::own_rows).
  VaeOutput forward(const torch::Tensor& x, const torch::Tensor& eps);

  const VaeConfig& config() const { return config_; }

 private:
  VaeConfig config_;
  torch::nn::Sequential encoder_{nullptr}, decoder_{nullptr};
  torch::nn::Linear head_{nullptr};  // features -> mu (AE) or mu and logvar (VAE)
};
TORCH_MODULE(Vae);

// VAE-GAN's discriminator (Larsen et al. 2016): two stride-2 convs whose output is the feature
// space the reconstruction is measured in, then a conv and a linear layer to one logit per image.
class VaeGanDiscriminatorImpl : public torch::nn::Module {
 public:
  VaeGanDiscriminatorImpl(int channels, int height, int width);
  torch::Tensor features(const torch::Tensor& x);             // B x 64 x H/4 x W/4
  torch::Tensor logits(const torch::Tensor& features);         // B
  torch::Tensor forward(const torch::Tensor& x) { return logits(features(x)); }

 private:
  torch::nn::Sequential features_{nullptr}, head_{nullptr};
};
TORCH_MODULE(VaeGanDiscriminator);

// Half the squared distance of two images in D's features, summed per image, mean over the batch
// (a Gaussian log-likelihood in feature space, up to a constant): VAE-GAN's reconstruction term.
torch::Tensor feature_recon(VaeGanDiscriminator& d, const torch::Tensor& x, const torch::Tensor& recon);

// Closed-form KL(N(mu, exp(logvar)) || N(0, I)) per dimension, per image: B x L.
torch::Tensor gaussian_kl(const torch::Tensor& mu, const torch::Tensor& logvar);

// recon (summed over pixels) + beta * KL, each averaged over the batch. `target` in [0, 1].
VaeLoss vae_loss(const VaeOutput& out, const torch::Tensor& target, const VaeConfig& config);

}  // namespace genlab
