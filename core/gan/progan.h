// ProGAN (Karras et al. 2018): G and D grown resolution by resolution (H/4 -> H/2 -> H), each new
// block faded in with a weight alpha that rises from 0 to 1 while the old path, upsampled, fades
// out; equalised learning rate, pixelnorm in G, minibatch standard deviation in D. StyleGAN's D is
// this D at the full resolution. Torch header.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "core/gan/equalized.h"
#include "core/gan/gan.h"

namespace genlab {

// Channels at each level (H/4, H/2, H): `width`, `width`, `width` / 2.
int progan_channels(const GanConfig& config, int level);

class ProGanGenerator : public GeneratorNet {
 public:
  explicit ProGanGenerator(const GanConfig& config);
  void set_growth(Growth growth) { growth_ = growth; }
  Growth growth() const { return growth_; }

  // Images at the growth's resolution: during a fade, (1 - alpha) * up(old to-RGB) + alpha * new.
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels) override;
  std::vector<Activation> activations(const torch::Tensor& z, const torch::Tensor& labels) override;

  // The two paths a fade blends, each at the new resolution, and the blend G draws.
  struct Fade {
    torch::Tensor old_path, new_path, blended;
  };
  Fade fade(const torch::Tensor& z);

 private:
  // Features after `level`'s block (level 0: the input block), recording each conv's output.
  torch::Tensor features(const torch::Tensor& z, int level, std::vector<Activation>* record);
  // Level 1 or 2's block: upsample, two convs, from the features of the level below.
  torch::Tensor block(int level, const torch::Tensor& below, std::vector<Activation>* record);

  GanConfig config_;
  Growth growth_;
  EqLinear input_{nullptr};
  std::vector<EqConv2d> conv_a_, conv_b_, to_rgb_;  // conv_a_[0] unused: level 0 has one conv
};

class ProGanDiscriminator : public DiscriminatorNet {
 public:
  // growing: from-RGB inputs at every level, so it can judge H/4 and H/2 images while G grows;
  // otherwise only the full size (StyleGAN).
  ProGanDiscriminator(const GanConfig& config, bool growing);
  void set_growth(Growth growth) { growth_ = growth; }
  // x at the growth's resolution: during a fade, alpha * block(from-RGB(x)) + (1 - alpha) *
  // from-RGB(down(x)) enters the next level down.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels) override;

 private:
  GanConfig config_;
  Growth growth_;
  std::vector<EqConv2d> from_rgb_, conv_a_, conv_b_;  // conv_a_/conv_b_ [1], [2]: the blocks down to H/2, H/4
  EqConv2d final_conv_{nullptr};
  EqLinear final_dense_{nullptr}, score_{nullptr};
};

// Real images (full size, [-1, 1]) as D sees them at `growth`: average-pooled to its resolution
// and, during a fade, blended with their upsampled half-resolution selves as G's output is.
torch::Tensor progan_real(const torch::Tensor& images, Growth growth);

}  // namespace genlab
