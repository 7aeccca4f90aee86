// The image-to-image networks at the data set's own size. G: a U-Net (stride-2 convs down to a
// bottleneck of about 3x3, nearest upsampling + conv back up, which is faster here than
// ConvTranspose2d; each level's encoder features join the decoder through a skip connection, which
// a toggle removes), instance norm so one image behaves as in a batch. D: a PatchGAN whose output
// is a map of real/fake logits, one per overlapping 18x18 patch (7x7 of them at 28x28) and blind
// to everything outside it (no normalisation layer), with StarGAN's domain-classification head
// beside it. Torch header.
#pragma once

#include <torch/torch.h>

#include "core/translate/translate_config.h"

namespace genlab {

class UNetGeneratorImpl : public torch::nn::Module {
 public:
  // in_channels: the image's channels plus any condition maps (StarGAN's one-hot domain planes).
  UNetGeneratorImpl(int in_channels, int out_channels, int width, int size, bool skips);
  // x: B x in_channels x S x S in [-1, 1] -> B x out_channels x S x S in [-1, 1].
  torch::Tensor forward(const torch::Tensor& x);
  int levels() const { return int(down_.size()); }

 private:
  bool skips_;
  torch::nn::Conv2d stem_{nullptr}, head_{nullptr};
  std::vector<torch::nn::Sequential> down_, up_;
};
TORCH_MODULE(UNetGenerator);

class PatchDiscriminatorImpl : public torch::nn::Module {
 public:
  // classes > 0 adds the classification head (StarGAN's D_cls).
  PatchDiscriminatorImpl(int in_channels, int width, int classes = 0);
  struct Output {
    torch::Tensor patches;  // B x 1 x P x P real/fake logits
    torch::Tensor classes;  // B x classes logits (undefined without the head)
  };
  Output forward(const torch::Tensor& x);

 private:
  torch::nn::Sequential features_{nullptr};
  torch::nn::Conv2d patch_{nullptr};
  torch::nn::Linear classify_{nullptr};
};
TORCH_MODULE(PatchDiscriminator);

// StarGAN's input: the image with one constant plane per domain (1 in the target's, 0 elsewhere).
torch::Tensor with_domain_planes(const torch::Tensor& images, const torch::Tensor& domains, int domain_count);

}  // namespace genlab
