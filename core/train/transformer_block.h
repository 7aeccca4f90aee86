// A pre-norm transformer block (self-attention, then a 4x MLP), shared by the families that read
// token sequences: the VQ-VAE prior (causal, over codes) and the text encoder of latent diffusion
// (bidirectional, over prompt words with padding masked). Torch header.
#pragma once

#include <torch/torch.h>

namespace genlab {

class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(int width, int heads, bool causal);
  // x: B x T x width. keep: B x T bool, false for padding no position may attend to (undefined: none).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& keep = {});

 private:
  int heads_;
  bool causal_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr}, up_{nullptr}, down_{nullptr};
};
TORCH_MODULE(TransformerBlock);

}  // namespace genlab
