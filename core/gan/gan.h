// What every GAN's generator and discriminator answer, and the DCGAN pair for images in two layouts
// (gan_config.h: compact, nearest upsample + conv; deep, cpp/dcgan's transposed convs; optional class
// conditioning: a label embedding joins z in G, a projection term in D) with small MLPs for the 2-D
// toy mode. ProGAN's and StyleGAN's live in progan.h and stylegan.h. Torch header.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/gan/gan_config.h"
#include "core/io/tensors.h"

namespace genlab {

class GeneratorNet : public torch::nn::Module {
 public:
  // z: B x latent; labels: B (long) for a conditional G, else undefined. Images in [-1, 1] (a
  // ProGAN still growing: at its current resolution).
  virtual torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels) = 0;
  // Every layer's output for z, first to last (the image last).
  virtual std::vector<Activation> activations(const torch::Tensor& z, const torch::Tensor& labels) = 0;
};

class DiscriminatorNet : public torch::nn::Module {
 public:
  // One raw score (logit) per sample: D(x) = sigmoid(score) for the minimax-family losses.
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels) = 0;
};

// config.arch's generator and discriminator.
std::shared_ptr<GeneratorNet> make_generator(const GanConfig& config);
std::shared_ptr<DiscriminatorNet> make_discriminator(const GanConfig& config);

class DcganGenerator : public GeneratorNet {
 public:
  explicit DcganGenerator(const GanConfig& config);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels) override;
  std::vector<Activation> activations(const torch::Tensor& z, const torch::Tensor& labels) override;

 private:
  GanConfig config_;
  torch::nn::Embedding embed_{nullptr};
  torch::nn::Sequential net_{nullptr};
};

class DcganDiscriminator : public DiscriminatorNet {
 public:
  explicit DcganDiscriminator(const GanConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels) override;

 private:
  GanConfig config_;
  torch::nn::Sequential features_{nullptr};
  torch::nn::Linear head_{nullptr};
  torch::nn::Embedding project_{nullptr};  // cGAN projection: score += <embed(y), features>
};

// L_D and L_G for `loss` from D's raw scores on real and generated samples (the gradient penalty of
// WGAN-GP is added by the trainer, which has the inputs). `real_target` (one per real sample, in
// (0, 1]): the minimax-family losses' soft labels for the real images; undefined: 1.
torch::Tensor discriminator_loss(GanLoss loss, const torch::Tensor& real_scores, const torch::Tensor& fake_scores,
                                 const torch::Tensor& real_target = {});
torch::Tensor generator_loss(GanLoss loss, const torch::Tensor& fake_scores);

// The value function V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))] with D = sigmoid(score).
torch::Tensor value_function(const torch::Tensor& real_scores, const torch::Tensor& fake_scores);

// E[(||grad_x D(x_hat)||_2 - 1)^2] at the points x_hat = mix * real + (1 - mix) * fake between real
// and fake samples (mix: one number in [0, 1) per sample, drawn by the caller).
torch::Tensor gradient_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                               const torch::Tensor& real, const torch::Tensor& fake, const torch::Tensor& mix);

}  // namespace genlab
