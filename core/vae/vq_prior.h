// The prior over a VQ-VAE's codes: a small causal transformer reading the code grid in raster order,
// with the class (or "no class") as its first token, that predicts each code from the ones before.
// Chosen over a PixelCNN because 49 positions is a short sequence: attention sees every earlier code
// from the first layer, where masked convolutions need a deep stack (and gated stacks against their
// blind spot) to reach the whole grid. Torch header.
#pragma once

#include <torch/torch.h>

#include <functional>

#include "core/train/transformer_block.h"
#include "core/vae/vq_config.h"

namespace genlab {

class CodePriorImpl : public torch::nn::Module {
 public:
  explicit CodePriorImpl(const VqPriorConfig& config);

  // Logits of every position's code given the ones before it: codes B x P (P = positions, int64),
  // labels B (int64; -1 or an unconditional prior: no class) -> B x P x K.
  torch::Tensor forward(const torch::Tensor& codes, const torch::Tensor& labels);
  // Mean cross-entropy of the codes under the prior, in nats per position.
  torch::Tensor loss(const torch::Tensor& codes, const torch::Tensor& labels);
  // Draws codes position by position (B x P); after each position `filled(position, codes, probs)`
  // is called with the codes so far (later positions -1) and the B x K distribution that position
  // was drawn from, and may return false to stop (cancelled).
  using Filled = std::function<bool(int, const torch::Tensor&, const torch::Tensor&)>;
  torch::Tensor sample(const torch::Tensor& labels, const PriorSampling& sampling, at::Generator generator,
                       const Filled& filled = {});

  const VqPriorConfig& config() const { return config_; }

 private:
  torch::Tensor start_tokens(const torch::Tensor& labels);

  VqPriorConfig config_;
  torch::nn::Embedding code_embedding_{nullptr}, class_embedding_{nullptr};
  torch::Tensor positions_;
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(CodePrior);

// The logits of one position for sampling: divided by the temperature, all but the top k at -inf.
torch::Tensor shape_logits(const torch::Tensor& logits, const PriorSampling& sampling);

}  // namespace genlab
