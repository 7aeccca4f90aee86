// GAN generator and discriminator: DCGAN-style for images (nearest upsample + conv, which is faster
// than ConvTranspose2d in Debian's LibTorch; optional class conditioning: a label embedding joins z
// in G, a projection term in D), and small MLPs for the 2-D toy mode. Torch header.
#pragma once

#include <torch/torch.h>

#include "core/gan/gan_config.h"

namespace genlab {

class GeneratorImpl : public torch::nn::Module {
 public:
  explicit GeneratorImpl(const GanConfig& config);
  // z: B x latent; labels: B (long) for a conditional G, else undefined. Images in [-1, 1].
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels = {});

 private:
  GanConfig config_;
  torch::nn::Embedding embed_{nullptr};
  torch::nn::Sequential net_{nullptr};
};
TORCH_MODULE(Generator);

class DiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DiscriminatorImpl(const GanConfig& config);
  // One raw score (logit) per sample: D(x) = sigmoid(score) for the minimax-family losses.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels = {});

 private:
  GanConfig config_;
  torch::nn::Sequential features_{nullptr};
  torch::nn::Linear head_{nullptr};
  torch::nn::Embedding project_{nullptr};  // cGAN projection: score += <embed(y), features>
};
TORCH_MODULE(Discriminator);

// L_D and L_G for `loss` from D's raw scores on real and generated samples (the gradient penalty of
// WGAN-GP is added by the trainer, which has the inputs).
torch::Tensor discriminator_loss(GanLoss loss, const torch::Tensor& real_scores, const torch::Tensor& fake_scores);
torch::Tensor generator_loss(GanLoss loss, const torch::Tensor& fake_scores);

// The value function V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))] with D = sigmoid(score).
torch::Tensor value_function(const torch::Tensor& real_scores, const torch::Tensor& fake_scores);

// E[(||grad_x D(x_hat)||_2 - 1)^2] at the points x_hat = mix * real + (1 - mix) * fake between real
// and fake samples (mix: one number in [0, 1) per sample, drawn by the caller).
torch::Tensor gradient_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                               const torch::Tensor& real, const torch::Tensor& fake, const torch::Tensor& mix);

}  // namespace genlab
